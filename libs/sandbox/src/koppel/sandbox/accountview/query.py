"""GET /accountviewdata: filters, sorting, keyset and page paging, field selection.

Parameter names arrive lower-cased (names are case-insensitive, notes section 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from koppel.sandbox.accountview.errors import AccountViewError
from koppel.sandbox.accountview.schema import BUSINESS_OBJECTS, DETAIL_LINK, Field
from koppel.sandbox.accountview.settings import Knobs
from koppel.sandbox.accountview.stock import article_view, reserved_field_def
from koppel.sandbox.accountview.store import Company, Record
from koppel.sandbox.accountview.values import Value, parse_datetime, to_json

EMAIL_FIELDS = frozenset({"MAIL_BUS", "MC_MAILB", "TO_EMAIL"})
OPERATORS = {"equal", "notequal", "contains", "dateonorafterdate"}
_FILTER_KEY = re.compile(r"^filtercontrolsource(\d+)$")

Predicate = Callable[[Record], bool]


def table_fields(company: Company, table: str, knobs: Knobs) -> dict[str, Field]:
    fields = dict(company.tables[table].table.fields)
    extra = reserved_field_def(knobs) if table == "ARTICLE" else None
    if extra is not None:
        fields[extra.name] = extra
    return fields


def view_rows(company: Company, table: str, knobs: Knobs) -> list[Record]:
    rows = list(company.tables[table].rows.values())
    if table == "ARTICLE":
        return [article_view(r, knobs) for r in rows]
    return rows


def _resolve(name: str, table: str, fields: dict[str, Field]) -> Field:
    raw = name.strip().upper()
    if "." in raw:
        prefix, raw = raw.split(".", 1)
        if prefix != table:
            raise AccountViewError(f"Tabel {prefix} hoort niet bij deze opvraging")
    if raw not in fields:
        raise AccountViewError(f"Veld {raw} bestaat niet in tabel {table}")
    return fields[raw]


def _parse_value(text: str, vtype: str) -> Value:
    try:
        if vtype == "C":
            return text
        if vtype == "N":
            return float(text.strip())
        if vtype in ("D", "T"):
            dt = parse_datetime(text)
            if dt is None:
                return None
            return dt.date() if vtype == "D" and dt.time() == datetime.min.time() else dt
    except ValueError as exc:
        raise AccountViewError(f"Ongeldige filterwaarde {text!r} voor type {vtype}") from exc
    raise AccountViewError(f"Onbekend FilterValueType {vtype!r}")


def _as_datetime(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    return None


def _compare_equal(f: Field, stored: Any, value: Value, fold: bool) -> bool:
    if f.type in "DT" or isinstance(value, date):
        a, b = _as_datetime(stored), _as_datetime(value)
        if a is None or b is None:
            return a is None and b is None
        # A date-only value matches the whole day of a datetime field.
        if f.type == "D" or not isinstance(value, datetime):
            return a.date() == b.date()
        return a == b
    if f.type == "L":
        return bool(stored) == (str(value).strip().lower() in {"true", "t", ".t.", "1", "y"})
    if f.type in "NYBI":
        try:
            return float(stored or 0) == float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    left, right = str(stored), str(value)
    return left.lower() == right.lower() if fold else left == right


def _predicate(
    params: dict[str, str], n: str, table: str, fields: dict[str, Field], knobs: Knobs
) -> Predicate:
    f = _resolve(params[f"filtercontrolsource{n}"], table, fields)
    op = params.get(f"filteroperator{n}", "Equal").strip().lower()
    if op not in OPERATORS:
        raise AccountViewError(f"Onbekende FilterOperator{n} {op!r}")
    vtype = params.get(f"filtervaluetype{n}", "C").strip().upper() or "C"
    raw = params.get(f"filtervalue{n}", "")
    is_list = params.get(f"filterislistofvalues{n}", "false").strip().lower() in ("true", "1")
    values = (
        [_parse_value(v.strip(), vtype) for v in raw.split(",")]
        if is_list
        else [_parse_value(raw, vtype)]
    )
    fold = f.name in EMAIL_FIELDS and not knobs.email_case_sensitive
    pad = knobs.pad_char_fields and f.type == "C"

    def stored_of(rec: Record) -> Any:
        v = rec.get(f.name)
        return to_json(f, v, pad) if f.type in "CM" else v

    if op == "dateonorafterdate":
        if f.type not in "DT":
            raise AccountViewError(f"DateOnOrAfterDate vraagt een datumveld, niet {f.name}")

        def after(rec: Record) -> bool:
            a = _as_datetime(rec.get(f.name))
            return a is not None and any(
                (b := _as_datetime(v)) is not None and a >= b for v in values
            )

        return after
    if op == "contains":

        def contains(rec: Record) -> bool:
            s = str(stored_of(rec))
            s = s.lower() if fold else s
            return any((str(v).lower() if fold else str(v)) in s for v in values)

        return contains

    if f.type in "CM":
        # character Equal is a set lookup, so long lists of SKUs stay cheap
        wanted = {str(v).lower() if fold else str(v) for v in values}

        def equal(rec: Record) -> bool:
            s = str(stored_of(rec))
            return (s.lower() if fold else s) in wanted

    else:

        def equal(rec: Record) -> bool:
            s = stored_of(rec)
            return any(_compare_equal(f, s, v, fold) for v in values)

    if op == "notequal":
        return lambda rec: not equal(rec)
    return equal


def _int_param(params: dict[str, str], name: str, default: int | None) -> int | None:
    if name not in params or params[name].strip() == "":
        return default
    try:
        return int(params[name])
    except ValueError as exc:
        raise AccountViewError(f"Ongeldige waarde voor {name}: {params[name]!r}") from exc


def _sort_key(f: Field) -> Callable[[Record], Any]:
    def key(rec: Record) -> Any:
        v = rec.get(f.name)
        if f.type in "DT":
            d = _as_datetime(v)
            return (d is not None, d or datetime.min)
        if f.type in "NYBIL":
            return float(v or 0)  # type: ignore[arg-type]
        return str(v or "")

    return key


def run_query(
    company: Company, params: dict[str, str], knobs: Knobs
) -> dict[str, list[dict[str, Any]]]:
    code = params.get("businessobject", "").strip().upper()
    if not code:
        raise AccountViewError("Parameter BusinessObject ontbreekt")
    bo = BUSINESS_OBJECTS.get(code)
    if bo is None or not bo.readable:
        raise AccountViewError(f"Onbekend business object {code}")
    if "bookdate" in params and params["bookdate"].strip():
        try:
            parse_datetime(params["bookdate"])
        except ValueError as exc:
            raise AccountViewError(f"Ongeldige BookDate {params['bookdate']!r}") from exc
    if params.get("filter", "").strip():
        raise AccountViewError("Filter-expressies worden door de sandbox niet ondersteund")
    table = bo.header
    fields = table_fields(company, table, knobs)
    rows = view_rows(company, table, knobs)

    numbers = sorted({m.group(1) for k in params if (m := _FILTER_KEY.match(k))}, key=int)
    preds = [_predicate(params, n, table, fields, knobs) for n in numbers]
    if preds:
        any_mode = params.get("matchanyfilter", "false").strip().lower() in ("true", "1")
        combine = any if any_mode else all
        rows = [r for r in rows if combine(p(r) for p in preds)]

    page_key = fields[company.tables[table].table.page_key]
    last_key = params.get("lastkey", "").strip()
    if last_key:
        if page_key.type == "I":
            try:
                lk_int = int(float(last_key))
            except ValueError as exc:
                raise AccountViewError(f"Ongeldige lastKey {last_key!r}") from exc
            rows = [r for r in rows if int(r.get(page_key.name) or 0) > lk_int]  # type: ignore[arg-type]
        else:
            rows = [r for r in rows if str(r.get(page_key.name)) > last_key]
        rows.sort(key=_sort_key(page_key))
    else:
        sort_names = [s for s in params.get("sortfields", "").split(",") if s.strip()]
        descending = params.get("sortorder", "ascending").strip().lower().startswith("desc")
        sort_fields = [_resolve(s, table, fields) for s in sort_names] or [page_key]
        # stable sorts from the last key to the first give a multi-key sort
        rows.sort(key=_sort_key(page_key))
        for sf in reversed(sort_fields):
            rows.sort(key=_sort_key(sf), reverse=descending)

    size = _int_param(params, "pagesize", knobs.default_page_size)
    if size is not None:
        if size < 1 or size > knobs.max_page_size:
            raise AccountViewError(f"PageSize moet tussen 1 en {knobs.max_page_size} liggen")
        number = 1 if last_key else _int_param(params, "pagenumber", 1)
        if number is None or number < 1:
            raise AccountViewError("PageNumber begint bij 1")
        rows = rows[(number - 1) * size : number * size]

    selected = _selection(params.get("fields", ""), bo.header, bo.detail, company, knobs)
    out: dict[str, list[dict[str, Any]]] = {table: []}
    for i, rec in enumerate(rows):
        out[table].append(render_record(rec, fields, selected.get(table), table, i, knobs))
    if bo.detail:
        link = DETAIL_LINK[bo.detail]
        dfields = table_fields(company, bo.detail, knobs)
        by_header: dict[Any, list[Record]] = {}
        for d in company.tables[bo.detail].rows.values():
            by_header.setdefault(d.get(link), []).append(d)
        details: list[dict[str, Any]] = []
        for i, rec in enumerate(rows):
            for d in by_header.get(rec.get(link), []):
                item = render_record(
                    d, dfields, selected.get(bo.detail), bo.detail, len(details), knobs
                )
                item[f"{table}_Id"] = i
                details.append(item)
        out[bo.detail] = details
    return out


def _selection(
    raw: str, header: str, detail: str | None, company: Company, knobs: Knobs
) -> dict[str, list[str]]:
    """Fields= as {table: [field names]}; an absent table means all its fields."""
    names = [n.strip().upper() for n in raw.split(",") if n.strip()]
    if not names or "*" in names:
        return {}
    tables = [header] + ([detail] if detail else [])
    chosen: dict[str, list[str]] = {t: [] for t in tables}
    for name in names:
        if "." in name:
            prefix, bare = name.split(".", 1)
            if prefix not in chosen:
                raise AccountViewError(f"Tabel {prefix} hoort niet bij deze opvraging")
            if bare == "*":
                chosen[prefix] = list(table_fields(company, prefix, knobs))
                continue
            targets = [prefix]
        else:
            bare, targets = name, [t for t in tables if name in table_fields(company, t, knobs)]
        if not targets or bare not in table_fields(company, targets[0], knobs):
            raise AccountViewError(
                f"Veld {bare} bestaat niet in tabel {targets[0] if targets else header}"
            )
        for t in targets:
            if bare not in chosen[t]:
                chosen[t].append(bare)
    # A detail table nobody asked a field of comes back with its keys only.
    return chosen


def render_record(
    rec: Record,
    fields: dict[str, Field],
    only: list[str] | None,
    table: str,
    index: int,
    knobs: Knobs,
) -> dict[str, Any]:
    names = fields.keys() if only is None else only
    item = {n: to_json(fields[n], rec.get(n), knobs.pad_char_fields) for n in names}
    item["EXT_KEY"] = rec.get("REC_ID")
    item[f"{table}_Id"] = index
    return item
