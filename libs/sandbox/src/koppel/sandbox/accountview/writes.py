"""POST (insert) and PUT (update) of /accountviewdata: the Definition + positional Rows body.

Body shape, positional rows, RowId/HeaderId and loose property-name casing follow the notes
(section 5). Everything is validated before anything is written: a request either writes all
its rows or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from koppel.sandbox.accountview.errors import AccountViewError
from koppel.sandbox.accountview.query import render_record, table_fields
from koppel.sandbox.accountview.schema import (
    BUSINESS_OBJECTS,
    DETAIL_LINK,
    FIELD_TYPES,
    BusinessObject,
    Field,
    Table,
)
from koppel.sandbox.accountview.settings import Knobs
from koppel.sandbox.accountview.stock import RESERVED, article_view, move
from koppel.sandbox.accountview.store import Company, Record, new_record, stamp_update
from koppel.sandbox.accountview.values import Value, coerce, is_empty, parse_datetime

META_FIELDS = frozenset({"ROWID", "HEADERID", "ROWACTION"})


def _get(obj: Any, name: str) -> Any:
    """Property lookup ignoring case (PHP sends ``name``/``values`` in lower case)."""
    if not isinstance(obj, dict):
        return None
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


@dataclass
class Row:
    row_id: str
    header_id: str
    values: dict[str, Value]


@dataclass
class Part:
    table: Table
    rows: list[Row] = field(default_factory=list)


@dataclass
class WriteRequest:
    bo: BusinessObject
    book_date: datetime | None
    header: Part
    detail: Part | None


def parse_body(company: Company, body: Any, query_bo: str | None) -> WriteRequest:
    if not isinstance(body, dict):
        raise AccountViewError("De body moet een JSON-object zijn")
    code = str(_get(body, "BusinessObject") or query_bo or "").strip().upper()
    bo = BUSINESS_OBJECTS.get(code)
    if bo is None:
        raise AccountViewError(f"Onbekend business object {code!r}")
    book_raw = _get(body, "BookDate")
    try:
        book_date = parse_datetime(str(book_raw)) if book_raw else None
    except ValueError as exc:
        raise AccountViewError(f"Ongeldige BookDate {book_raw!r}") from exc
    table_obj, data = _get(body, "Table"), _get(body, "TableData")
    definition = _get(table_obj, "Definition")
    if definition is None or data is None:
        raise AccountViewError("Table.Definition en TableData ontbreken")
    header = _part(company, bo.header, definition, _get(_get(data, "Data"), "Rows"))
    detail: Part | None = None
    ddefs = _get(table_obj, "DetailDefinitions") or []
    ddata = _get(data, "DetailData") or []
    if ddefs:
        if bo.detail is None or len(ddefs) != 1:
            raise AccountViewError(f"Business object {code} kent geen detailtabel")
        rows = _get(ddata[0], "Rows") if ddata else []
        detail = _part(company, bo.detail, ddefs[0], rows)
    return WriteRequest(bo, book_date, header, detail)


def _part(company: Company, expected: str, definition: Any, rows: Any) -> Part:
    name = str(_get(definition, "Name") or "").strip().upper()
    if name != expected:
        raise AccountViewError(
            f"Tabel {name or '(leeg)'} hoort niet bij dit business object; verwacht {expected}"
        )
    table = company.tables[expected].table
    fields_raw = _get(definition, "Fields")
    if not isinstance(fields_raw, list) or not fields_raw:
        raise AccountViewError(f"Definitie van {expected} heeft geen Fields")
    names: list[str] = []
    for fd in fields_raw:
        fname = str(_get(fd, "Name") or "").strip().upper()
        ftype = str(_get(fd, "FieldType") or "C").strip().upper()
        if ftype not in FIELD_TYPES:
            raise AccountViewError(f"Onbekend FieldType {ftype!r} voor veld {fname}")
        if fname not in META_FIELDS and fname not in table.fields:
            raise AccountViewError(f"Veld {fname} bestaat niet in tabel {expected}")
        names.append(fname)
    part = Part(table)
    for i, row in enumerate(rows or []):
        values = _get(row, "Values")
        if not isinstance(values, list) or len(values) != len(names):
            raise AccountViewError(
                f"Rij {i + 1} van {expected} heeft {len(values) if isinstance(values, list) else 0} waarden voor {len(names)} velden"
            )
        coerced: dict[str, Value] = {}
        row_id = header_id = ""
        for fname, raw in zip(names, values, strict=True):
            if fname == "ROWID":
                row_id = str(raw).strip()
            elif fname == "HEADERID":
                header_id = str(raw).strip()
            elif fname != "ROWACTION":
                f = table.fields[fname]
                value = coerce(f, raw)
                _check_length(table, f, value)
                coerced[fname] = value
        part.rows.append(Row(row_id, header_id, coerced))
    return part


def _check_length(table: Table, f: Field, value: Value) -> None:
    if f.type == "C" and f.length and isinstance(value, str) and len(value) > f.length:
        raise AccountViewError(
            f"Waarde voor veld {table.name}.{f.name} is te lang ({len(value)} tekens, maximaal {f.length})"
        )


def _check_writable(table: Table, values: dict[str, Value], allow: str | None = None) -> None:
    for name in values:
        if table.fields[name].readonly and name != allow:
            raise AccountViewError(
                f"Veld {table.name}.{name} kan niet via de Web-API worden gewijzigd"
            )


def _check_record(company: Company, table: Table, rec: dict[str, Value], given: set[str]) -> None:
    for name, f in table.fields.items():
        if not f.mandatory:
            continue
        missing = (
            is_empty(rec.get(name)) if f.type in "CMDT" else name not in given and name not in rec
        )
        if missing:
            raise AccountViewError(f"Veld {table.name}.{name} is verplicht")
    for name, f in table.fields.items():
        value = rec.get(name)
        if f.ref is None or is_empty(value):
            continue
        ref_table, ref_field = f.ref
        if company.tables[ref_table].get(value) is None:
            raise AccountViewError(
                f"{table.name}.{name}: {value} komt niet voor in {ref_table}.{ref_field}"
            )


class Writer:
    def __init__(self, company: Company, knobs: Knobs, now: datetime, user: str) -> None:
        self.c = company
        self.knobs = knobs
        self.now = now
        self.user = user.upper()[:20]

    def _next_number(self, table: Table, fname: str, taken: set[str]) -> str:
        td = self.c.tables[table.name]
        n = self.c.counters.get(fname, 1)
        while str(n) in taken or td.get(str(n)) is not None:
            n += 1
        self.c.counters[fname] = n + 1
        return str(n)

    def insert(self, req: WriteRequest) -> dict[str, list[dict[str, Any]]]:
        if not req.bo.insert:
            raise AccountViewError(
                f"Toevoegen via de Web-API is niet toegestaan voor {req.bo.code}"
            )
        header = req.header
        if not header.rows:
            raise AccountViewError("Geen rijen om toe te voegen")
        table = header.table
        planned: list[tuple[Row, dict[str, Value]]] = []
        taken: set[str] = set()
        for row in header.rows:
            _check_writable(table, row.values)
            values = dict(row.values)
            auto = table.auto_number
            if auto and is_empty(values.get(auto)):
                values[auto] = self._next_number(table, auto, taken)
            self._defaults(table.name, values, req.book_date)
            key = values.get(table.key)
            if table.key != "REC_ID":
                if self.c.tables[table.name].get(key) is not None or str(key) in taken:
                    raise AccountViewError(f"{table.name}.{table.key} {key} bestaat al")
                taken.add(str(key))
            _check_record(self.c, table, values, set(row.values))
            self._check_header_rules(table.name, values)
            planned.append((row, values))
        lines = self._plan_details(req, planned)
        return self._commit(req, planned, lines)

    def _defaults(self, table: str, values: dict[str, Value], book_date: datetime | None) -> None:
        when = book_date or self.now
        if table == "SO_HDR" and values.get("ORD_DATE") is None:
            values["ORD_DATE"] = self.now
        if table == "DJ_PAGE":
            if values.get("TRN_DATE") is None:
                values["TRN_DATE"] = when
            if not values.get("PERIOD"):
                trn = values["TRN_DATE"]
                values["PERIOD"] = float(trn.month) if isinstance(trn, datetime) else 0.0

    def _check_header_rules(self, table: str, values: dict[str, Value]) -> None:
        if table == "SO_HDR" and not is_empty(values.get("DEL_CODE")):
            addr = self.c.tables["DEL_ADDR"].get(values["DEL_CODE"])
            owners = {values.get("RPL_INV"), values.get("RPL_DEL")}
            if addr is not None and addr.get("SUB_NR") not in owners:
                raise AccountViewError(
                    f"SO_HDR.DEL_CODE {values['DEL_CODE']} is geen afleveradres van debiteur {values.get('RPL_DEL') or values.get('RPL_INV')}"
                )

    def _plan_details(
        self, req: WriteRequest, planned: list[tuple[Row, dict[str, Value]]]
    ) -> dict[int, list[dict[str, Value]]]:
        by_row_id = {row.row_id: i for i, (row, _) in enumerate(planned)}
        lines: dict[int, list[dict[str, Value]]] = {i: [] for i in range(len(planned))}
        if req.detail is not None:
            table = req.detail.table
            for row in req.detail.rows:
                if row.header_id not in by_row_id:
                    raise AccountViewError(
                        f"{table.name}: HeaderId {row.header_id!r} verwijst niet naar een rij van {req.bo.header}"
                    )
                _check_writable(table, row.values)
                values = dict(row.values)
                _check_record(self.c, table, values, set(row.values))
                if table.name == "SO_LINE" and self.knobs.refuse_blocked_articles:
                    art = self.c.tables["ARTICLE"].get(values["ART_CODE"])
                    if art is not None and art.get("REC_BLK"):
                        raise AccountViewError(f"Artikel {values['ART_CODE']} is geblokkeerd")
                lines[by_row_id[row.header_id]].append(values)
        if req.bo.code == "DJ2" and any(not ls for ls in lines.values()):
            raise AccountViewError("Een dagboekbladzijde heeft minstens een DJ_LINE nodig")
        return lines

    def _commit(
        self,
        req: WriteRequest,
        planned: list[tuple[Row, dict[str, Value]]],
        lines: dict[int, list[dict[str, Value]]],
    ) -> dict[str, list[dict[str, Any]]]:
        hdr_td = self.c.tables[req.bo.header]
        out: dict[str, list[dict[str, Any]]] = {req.bo.header: []}
        created_details: list[tuple[int, Record]] = []
        for i, (_, values) in enumerate(planned):
            rec = new_record(hdr_td, values, self.now, self.user)
            if hdr_td.table.name == "ARTICLE":
                rec[RESERVED] = 0.0
            hdr_td.put(rec)
            out[req.bo.header].append(self._render(hdr_td.table.name, rec, i))
            if req.bo.detail:
                det_td = self.c.tables[req.bo.detail]
                link = DETAIL_LINK[req.bo.detail]
                for line in lines[i]:
                    line[link] = rec[link]
                    drec = new_record(det_td, line, self.now, self.user)
                    det_td.put(drec)
                    created_details.append((i, drec))
                    if req.bo.detail == "SO_LINE":
                        self._reserve(drec)
        if req.bo.detail:
            out[req.bo.detail] = []
            for n, (i, drec) in enumerate(created_details):
                item = self._render(req.bo.detail, drec, n)
                item[f"{req.bo.header}_Id"] = i
                out[req.bo.detail].append(item)
        return out

    def _reserve(self, line: Record) -> None:
        art = self.c.tables["ARTICLE"].get(line["ART_CODE"])
        qty = line.get("ORD_QTY")
        if art is not None and isinstance(qty, int | float):
            move(art, self.knobs, self.now, reserved=float(qty), user=self.user)

    def _render(self, table: str, rec: Record, index: int) -> dict[str, Any]:
        view = article_view(rec, self.knobs) if table == "ARTICLE" else rec
        return render_record(
            view, table_fields(self.c, table, self.knobs), None, table, index, self.knobs
        )

    def update(self, req: WriteRequest) -> dict[str, list[dict[str, Any]]]:
        if not req.bo.update:
            if req.bo.code == "DJ2":
                raise AccountViewError(
                    "Dagboekbladzijden (DJ2) kunnen via de Web-API niet worden gewijzigd"
                )
            raise AccountViewError(f"Wijzigen via de Web-API is niet toegestaan voor {req.bo.code}")
        if req.detail is not None:
            raise AccountViewError(f"Business object {req.bo.code} kent geen detailtabel")
        table = req.header.table
        td = self.c.tables[table.name]
        planned: list[tuple[Record, dict[str, Value]]] = []
        for row in req.header.rows:
            if table.key not in row.values or is_empty(row.values[table.key]):
                raise AccountViewError(f"Sleutelveld {table.name}.{table.key} ontbreekt in de rij")
            rec = td.get(row.values[table.key])
            if rec is None:
                raise AccountViewError(f"{table.name} {row.values[table.key]} bestaat niet")
            _check_writable(table, row.values, allow=table.key)
            merged = {**rec, **row.values}
            _check_record(self.c, table, merged, set(merged))
            planned.append((rec, row.values))
        out: dict[str, list[dict[str, Any]]] = {table.name: []}
        for i, (rec, values) in enumerate(planned):
            rec.update(values)
            stamp_update(rec, self.now, self.user)
            out[table.name].append(self._render(table.name, rec, i))
        return out
