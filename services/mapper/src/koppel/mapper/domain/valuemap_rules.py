"""Checks on a value map before it is saved, and key normalisation (``BE:21.0`` → ``BE:21``,
``be`` → ``BE``), so that lookups at mapping time are exact and cheap."""

from __future__ import annotations

import re
from typing import Any

from koppel.mapper.domain.countries import is_known_code
from koppel.mapper.domain.errors import MappingDefinitionError, Problem
from koppel.mapper.domain.valuemaps import VALUE_MAPS, rate_key

_VAT_KEY = re.compile(r"^([A-Za-z]{2}|\*)(?::(\d{1,3}(?:[.,]\d{1,2})?))?$")
_COUNTRY_KEYED = ("revenue_accounts",)


def normalise_value_map(name: str, entries: dict[str, Any], default: Any) -> dict[str, Any]:
    """The document to store, or ``MappingDefinitionError`` naming each bad entry."""
    problems: list[Problem] = []
    if name not in VALUE_MAPS:
        raise MappingDefinitionError(
            [
                Problem(
                    "name",
                    f"unknown value map '{name}'; value maps are {', '.join(sorted(VALUE_MAPS))}",
                )
            ]
        )
    info = VALUE_MAPS[name]
    out: dict[str, Any] = {}
    for raw_key, value in entries.items():
        key = str(raw_key).strip()
        location = f"entries.{raw_key}"
        if not key:
            problems.append(Problem(location, "a key cannot be empty", field=str(raw_key)))
            continue
        if name == "vat_codes":
            match = _VAT_KEY.match(key)
            if match is None:
                problems.append(Problem(location, f"key must be {info.key_help}", field=key))
                continue
            country = match.group(1).upper()
            if country != "*" and not is_known_code(country):
                problems.append(
                    Problem(location, f"'{country}' is not an ISO country code", field=key)
                )
                continue
            key = (
                f"{country}:{rate_key(match.group(2).replace(',', '.'))}"
                if match.group(2)
                else country
            )
        elif name in _COUNTRY_KEYED:
            if not is_known_code(key):
                problems.append(
                    Problem(location, f"key must be an ISO country code, not '{key}'", field=key)
                )
                continue
            key = key.upper()
        problems.extend(_check_value(name, location, key, value))
        out[key] = value
    if default is not None:
        problems.extend(_check_value(name, "default", "default", default))
    if problems:
        raise MappingDefinitionError(problems)
    return {"entries": out, "default": default}


def _check_value(name: str, location: str, key: str, value: Any) -> list[Problem]:
    info = VALUE_MAPS[name]
    if name == "vat_rates":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            return [Problem(location, "a VAT percentage between 0 and 100", field=key)]
        return []
    text = str(value).strip()
    if not text:
        return [Problem(location, "the value cannot be empty", field=key)]
    if info.value_max_length is not None and len(text) > info.value_max_length:
        return [
            Problem(
                location,
                f"'{text}' is longer than the {info.value_max_length} characters an {info.target} can have",
                field=key,
            )
        ]
    return []
