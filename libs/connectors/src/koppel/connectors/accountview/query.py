"""Numbered filter parameters of ``GET /accountviewdata`` (``FilterControlSource1`` ...)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from koppel.connectors.accountview.foxpro import FieldType, date_literal, datetime_literal


@dataclass(frozen=True, slots=True)
class Filter:
    field: str
    operator: str
    value: str
    value_type: FieldType = "C"
    is_list: bool = False


def equal(field: str, value: Any, value_type: FieldType = "C") -> Filter:
    return Filter(field, "Equal", _text(value, value_type), value_type)


def not_equal(field: str, value: Any, value_type: FieldType = "C") -> Filter:
    return Filter(field, "NotEqual", _text(value, value_type), value_type)


def contains(field: str, value: str) -> Filter:
    return Filter(field, "Contains", value, "C")


def changed_on_or_after(field: str, when: date | datetime) -> Filter:
    if isinstance(when, datetime):
        return Filter(field, "DateOnOrAfterDate", datetime_literal(when), "T")
    return Filter(field, "DateOnOrAfterDate", date_literal(when), "D")


def one_of(field: str, values: Iterable[str], separator: str = ",") -> Filter:
    return Filter(field, "Equal", separator.join(values), "C", is_list=True)


def _text(value: Any, value_type: FieldType) -> str:
    if value_type in ("D", "T") and isinstance(value, date | datetime):
        return date_literal(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def filter_params(filters: Sequence[Filter], *, match_any: bool = False) -> dict[str, str]:
    params: dict[str, str] = {}
    for n, flt in enumerate(filters, start=1):
        params[f"FilterControlSource{n}"] = flt.field
        params[f"FilterOperator{n}"] = flt.operator
        params[f"FilterValueType{n}"] = flt.value_type
        params[f"FilterValue{n}"] = flt.value
        params[f"FilterIsListOfValues{n}"] = "true" if flt.is_list else "false"
    if match_any and len(filters) > 1:
        params["matchAnyFilter"] = "true"
    return params
