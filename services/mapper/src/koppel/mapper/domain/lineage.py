"""Field lineage: which source fields and transforms produced each target field.

Collected only when asked (previews); the bus path passes ``None`` and pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Lineage:
    def __init__(self) -> None:
        self.fields: dict[str, dict[str, Any]] = {}

    def add(
        self,
        target: str,
        sources: Iterable[str],
        transforms: Iterable[str] = (),
        *,
        rule: str = "default",
        expression: str | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "sources": list(sources),
            "transforms": list(transforms),
            "rule": rule,
        }
        if expression is not None:
            entry["expression"] = expression
        self.fields[target] = entry

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return dict(self.fields)
