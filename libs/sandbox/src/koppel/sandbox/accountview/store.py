"""In-memory state of the sandbox: companies (administrations) and their tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from koppel.sandbox.accountview.schema import Table
from koppel.sandbox.accountview.values import Value, default_for

Record = dict[str, Value]


@dataclass
class TableData:
    """Rows of one table, indexed by the table's business key (REC_ID for detail tables)."""

    table: Table
    rows: dict[Any, Record] = field(default_factory=dict)
    next_rec_id: int = 1

    def get(self, key: Any) -> Record | None:
        return self.rows.get(_norm_key(self.table, key))

    def put(self, record: Record) -> None:
        self.rows[_norm_key(self.table, record[self.table.key])] = record

    def __len__(self) -> int:
        return len(self.rows)


def _norm_key(table: Table, key: Any) -> Any:
    if table.fields[table.key].type == "I":
        try:
            return int(key)
        except (TypeError, ValueError):
            return None
    return str(key).strip().upper() if table.fields[table.key].upper else str(key).strip()


@dataclass
class Company:
    id: str
    code: str
    description: str
    tables: dict[str, TableData] = field(default_factory=dict)
    # next auto-number per numbered field (SUB_NR, ORD_NR, INV_NR)
    counters: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, str]:
        return {"Id": self.id, "Description": self.description, "Code": self.code}


@dataclass
class State:
    companies: dict[str, Company] = field(default_factory=dict)

    def company(self, ident: str) -> Company | None:
        """Find a company by Id (as sent in x-company) or, for admin helpers, by Code."""
        if ident in self.companies:
            return self.companies[ident]
        for c in self.companies.values():
            if c.id.lower() == ident.strip().lower() or c.code.lower() == ident.strip().lower():
                return c
        return None

    def first(self) -> Company:
        return next(iter(self.companies.values()))


def stamp_insert(record: Record, now: datetime, user: str) -> None:
    record["INP_DATE"] = now
    record["INP_USR"] = user[:20]
    record["CNG_DATE"] = now
    record["CNG_USR"] = user[:20]
    record["CNG_NR"] = 1


def stamp_update(record: Record, now: datetime, user: str) -> None:
    record["CNG_DATE"] = now
    record["CNG_USR"] = user[:20]
    cng = record.get("CNG_NR")
    record["CNG_NR"] = (cng if isinstance(cng, int) else 0) + 1


def new_record(table: TableData, values: dict[str, Value], when: datetime, user: str) -> Record:
    """A full record: defaults for missing fields, the next REC_ID and audit stamps."""
    rec: Record = {name: default_for(f) for name, f in table.table.fields.items()}
    rec.update(values)
    rec["REC_ID"] = table.next_rec_id
    table.next_rec_id += 1
    stamp_insert(rec, when, user)
    return rec
