"""Errors the mapping raises. All are permanent: the same record with the same mapping fails
the same way, so retrying cannot help; the tenant must fix a value map, a mapping or the
source record. Each message is meant for a bookkeeper, not a developer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from koppel.common.errors import PermanentError


class MappingError(PermanentError):
    """A record cannot be mapped (base class; ``reason_code`` says why)."""

    def __init__(self, reason: str, *, reason_code: str = "mapping_error", **context: Any) -> None:
        super().__init__(reason, reason_code=reason_code, **context)


class UnmappedValue(MappingError):
    """A source value has no entry in the tenant's value map."""

    def __init__(self, reason: str, *, map_name: str, value: str, **context: Any) -> None:
        super().__init__(
            reason, reason_code="unmapped_value", map_name=map_name, value=value, **context
        )
        self.map_name = map_name
        self.value = value


class InvalidValue(MappingError):
    """A source value is present but unusable (bad e-mail, EAN, VAT number, number...)."""

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(reason, reason_code="invalid_value", **context)


class MissingValue(MappingError):
    """A field the target requires has no value."""

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(reason, reason_code="missing_value", **context)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping definition, with its exact location.

    ``location`` is a dotted path into the saved document (``fields.SO_HDR.COMMENT2``);
    ``position`` the 0-based column inside an expression, when the problem is in one.
    """

    location: str
    message: str
    field: str | None = None
    position: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"location": self.location, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.position is not None:
            out["position"] = self.position
        return out


class MappingDefinitionError(Exception):
    """A mapping or value map that cannot be saved. Not a bus error: it answers an API call."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.location}: {p.message}" for p in problems))


class ExpressionSyntaxError(Exception):
    """Raised by the parser; turned into a ``Problem`` by whoever knows the field."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
