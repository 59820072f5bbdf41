"""Build AccountView's positional Definition/Rows write body from typed records.

``{"BookDate", "BusinessObject", "Table": {"Definition": {"Name", "Fields": [{"Name",
"FieldType"}]}, "DetailDefinitions": [...]}, "TableData": {"Data": {"Rows": [{"Values":
[...]}]}, "DetailData": [{"Rows": [...]}]}}``. ``Values[i]`` belongs to ``Fields[i]``; the
first header field is ``RowId``, detail rows add ``HeaderId`` = the header's RowId.

Text longer than its field is cut to fit, and every cut is *reported* (``warnings``) or, with
``truncation="error"``, refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from koppel.connectors.accountview.foxpro import AV, FieldType, infer_type, to_json_value
from koppel.connectors.accountview.models import ROW_INDEX_KEYS, AVRecord


@dataclass(frozen=True, slots=True)
class TruncationWarning:
    table: str
    field: str
    row: int
    max_length: int
    original: str

    def __str__(self) -> str:
        return f"{self.table}.{self.field} (row {self.row}) cut from {len(self.original)} to {self.max_length} characters: {self.original!r}"


@dataclass(slots=True)
class BuiltBody:
    body: dict[str, Any]
    warnings: list[TruncationWarning] = field(default_factory=list)


class FieldTooLong(ValueError):
    def __init__(self, warnings: list[TruncationWarning]) -> None:
        super().__init__("; ".join(str(w) for w in warnings))
        self.warnings = warnings


def _spec(record: AVRecord, name: str, value: Any, lengths: Mapping[str, int]) -> AV:
    info = type(record).model_fields.get(name)
    spec = next((m for m in info.metadata if isinstance(m, AV)), None) if info else None
    if spec is None:
        spec = AV(infer_type(value))
    override = lengths.get(f"{record.TABLE}.{name}")
    if override is not None:
        spec = AV(spec.type, override, spec.upper)
    return spec


def _is_row_index(name: str) -> bool:
    # EXT_KEY, REC_ID and <TABLE>_Id come back on reads as row indexes; RowId/HeaderId are
    # the builder's own.
    return name in ROW_INDEX_KEYS or name.endswith("_Id") or name in {"RowId", "HeaderId"}


class BodyBuilder:
    def __init__(
        self,
        *,
        truncation: Literal["warn", "error"] = "warn",
        field_lengths: Mapping[str, int] | None = None,
    ) -> None:
        self.truncation = truncation
        self.field_lengths = dict(field_lengths or {})

    def _columns(self, records: Sequence[AVRecord]) -> list[tuple[str, AV]]:
        columns: dict[str, AV] = {}
        for record in records:
            for name, value in record.model_dump(exclude_none=True).items():
                if _is_row_index(name) or name in columns:
                    continue
                columns[name] = _spec(record, name, value, self.field_lengths)
        return list(columns.items())

    def _value(
        self, record: AVRecord, name: str, spec: AV, row: int, warnings: list[TruncationWarning]
    ) -> Any:
        value = record.value(name)
        if spec.type in ("C", "M") and value is not None:
            text = str(value)
            if spec.upper:
                text = text.upper()
            if spec.length is not None and len(text) > spec.length:
                warnings.append(TruncationWarning(record.TABLE, name, row, spec.length, text))
                text = text[: spec.length]
            value = text
        return to_json_value(spec.type, value)

    def build(
        self,
        business_object: str,
        header: AVRecord,
        details: Sequence[AVRecord] = (),
        *,
        book_date: date | datetime | None = None,
    ) -> BuiltBody:
        warnings: list[TruncationWarning] = []
        head_cols = self._columns([header])
        head_fields: list[dict[str, str]] = [{"Name": "RowId", "FieldType": "C"}]
        head_fields += [{"Name": n, "FieldType": s.type} for n, s in head_cols]
        head_values = ["1"] + [self._value(header, n, s, 1, warnings) for n, s in head_cols]
        table: dict[str, Any] = {"Definition": {"Name": header.TABLE, "Fields": head_fields}}
        data: dict[str, Any] = {"Data": {"Rows": [{"Values": head_values}]}}
        if details:
            detail_cols = self._columns(details)
            detail_fields: list[dict[str, FieldType | str]] = [
                {"Name": "RowId", "FieldType": "C"},
                {"Name": "HeaderId", "FieldType": "C"},
            ]
            detail_fields += [{"Name": n, "FieldType": s.type} for n, s in detail_cols]
            rows = [
                {
                    "Values": [str(i), "1"]
                    + [self._value(d, n, s, i, warnings) for n, s in detail_cols]
                }
                for i, d in enumerate(details, start=1)
            ]
            table["DetailDefinitions"] = [{"Name": details[0].TABLE, "Fields": detail_fields}]
            data["DetailData"] = [{"Rows": rows}]
        if warnings and self.truncation == "error":
            raise FieldTooLong(warnings)
        body: dict[str, Any] = {
            "BusinessObject": business_object,
            "Table": table,
            "TableData": data,
        }
        if book_date is not None:
            when = (
                book_date
                if isinstance(book_date, datetime)
                else datetime(book_date.year, book_date.month, book_date.day)
            )
            body = {"BookDate": to_json_value("T", when), **body}
        return BuiltBody(body, warnings)
