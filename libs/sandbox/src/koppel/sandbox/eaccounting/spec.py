"""The vendored official OpenAPI document, and JSON-schema validation against it.

Request bodies are validated against the operation's request schema (a body the real API would
reject gives 400 / ErrorCode 2000 naming the field); tests validate every response against the
response schemas with :func:`response_errors`.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from koppel.sandbox.eaccounting.spec_cache import JSON_PATH

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry

# jsonschema is imported lazily (first validation), which keeps app start-up short.

SPEC_URI = "urn:koppel:eaccounting-v2-openapi"
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I)
_DATE_OR_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$", re.I
)


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _matches_date_time(pattern: re.Pattern[str], value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not pattern.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


@cache
def format_checker(lenient: bool) -> FormatChecker:
    """Strict: RFC 3339 with offset (what the sandbox prints). Lenient: what the API accepts
    on input ("Expected date format YYYY-MM-DD", offset-less date-times)."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("uuid")(_is_uuid)
    pattern = _DATE_OR_DATE_TIME if lenient else _DATE_TIME
    checker.checks("date-time")(lambda value: _matches_date_time(pattern, value))
    return checker


@cache
def spec() -> dict[str, Any]:
    with JSON_PATH.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@cache
def _registry() -> Registry[Any]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec()["components"]["schemas"][name]
    return found


@cache
def validator(name: str, *, lenient: bool = False) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<name>`` with every ``$ref`` resolvable.

    ``lenient`` accepts date-only and offset-less date-times, as the API does on input.
    """
    from jsonschema import Draft202012Validator

    ref = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
    return Draft202012Validator(ref, registry=_registry(), format_checker=format_checker(lenient))


def _field(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def body_errors(name: str, body: Any, *, allow_unknown: bool = False) -> list[dict[str, str]]:
    """Validation errors as ``CommonError`` dicts ``{Field, ErrorCode, Message, Key}``."""
    found: list[dict[str, str]] = []
    for error in sorted(
        validator(name, lenient=True).iter_errors(body), key=lambda e: list(map(str, e.path))
    ):
        path = list(error.path)
        if error.validator == "additionalProperties":
            if allow_unknown:
                continue
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for prop in extra:
                found.append(_error([*path, prop], f"The field {prop} is not a valid field."))
            continue
        if error.validator == "required":
            match = re.search(r"'([^']+)' is a required property", error.message)
            prop = match.group(1) if match else ""
            found.append(_error([*path, prop], f"The {prop} field is required."))
            continue
        found.append(
            _error(path, f"The field {_field(path) or 'body'} is invalid: {error.message}")
        )
    return found


def _error(path: list[Any], message: str) -> dict[str, str]:
    field = _field(path)
    return {"Field": field, "ErrorCode": "2000", "Message": message, "Key": field}


def response_errors(status: int, method: str, path_template: str, body: Any) -> list[str]:
    """Messages for every way ``body`` breaks the spec's response schema (tests use this).

    ``path_template`` is relative to the server URL, e.g. ``/customers/{customerId}``.
    """
    operation = spec()["paths"][path_template][method.lower()]
    responses = operation["responses"]
    declared = responses.get(str(status))
    if declared is None:
        return [f"status {status} not declared for {method} {path_template}"]
    content = declared.get("content")
    if not content:
        return [] if body in (None, b"", "") else ["body returned where the spec declares none"]
    ref = content["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[-1]
    return [f"{_field(e.path) or '<root>'}: {e.message}" for e in validator(name).iter_errors(body)]


def request_schema_name(method: str, path_template: str) -> str | None:
    operation = spec()["paths"][path_template][method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref else None


def property_defaults(name: str) -> dict[str, Any]:
    record = dict(_property_defaults(name))
    for key in _list_properties(name):
        record[key] = []  # a fresh list per record: callers append to them
    return record


@cache
def _list_properties(name: str) -> tuple[str, ...]:
    return tuple(k for k, v in _property_defaults(name).items() if v == [])


@cache
def _property_defaults(name: str) -> dict[str, Any]:
    """Empty values for every simple property of a schema, the way the API prints a record.

    Nullable -> None, boolean -> False, number -> 0, integer -> its minimum or 0. Non-nullable
    strings and object references are left out: the resource code fills in the ones it knows.
    """
    result: dict[str, Any] = {}
    for prop, definition in schema(name)["properties"].items():
        types = definition.get("type")
        types = types if isinstance(types, list) else [types]
        if "null" in types:
            result[prop] = None
        elif "boolean" in types:
            result[prop] = False
        elif "number" in types:
            result[prop] = 0.0
        elif "integer" in types:
            result[prop] = int(definition.get("minimum", 0))
        elif "array" in types:
            result[prop] = []
    return result


@cache
def read_only(name: str) -> frozenset[str]:
    return frozenset(p for p, d in schema(name)["properties"].items() if d.get("readOnly"))


@cache
def writable(name: str) -> frozenset[str]:
    return frozenset(schema(name)["properties"]) - read_only(name)
