"""In-memory company data of the sandbox: one dict of records per collection."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from koppel.sandbox.common.clock import SandboxClock, isoformat_z

Record = dict[str, Any]

COLLECTIONS = (
    "customers",
    "articles",
    "orders",
    "customerinvoicedrafts",
    "customerinvoices",
    "vatcodes",
    "termsofpayments",
    "deliverymethods",
    "deliveryterms",
    "units",
    "articleaccountcodings",
    "countries",
)


@dataclass
class CompanySettings:
    stock_module: bool = False
    country_code: str = "NL"
    currency_code: str = "EUR"
    next_customer_number: int = 1001
    next_order_number: int = 1
    next_invoice_number: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "stock_module": self.stock_module,
            "country_code": self.country_code,
            "currency_code": self.currency_code,
            "next_customer_number": self.next_customer_number,
            "next_order_number": self.next_order_number,
            "next_invoice_number": self.next_invoice_number,
        }


@dataclass
class Store:
    clock: SandboxClock
    company: CompanySettings = field(default_factory=CompanySettings)
    data: dict[str, dict[str, Record]] = field(
        default_factory=lambda: {name: {} for name in COLLECTIONS}
    )

    def now_text(self) -> str:
        return isoformat_z(self.clock.now())

    def all(self, collection: str) -> list[Record]:
        return list(self.data[collection].values())

    def get(self, collection: str, key: str) -> Record | None:
        return self.data[collection].get(key.lower() if _is_guid(key) else key)

    def put(self, collection: str, key: str, record: Record) -> Record:
        self.data[collection][key] = record
        return record

    def delete(self, collection: str, key: str) -> bool:
        return self.data[collection].pop(key.lower() if _is_guid(key) else key, None) is not None

    def find(self, collection: str, prop: str, value: Any) -> Record | None:
        for record in self.data[collection].values():
            if record.get(prop) == value:
                return record
        return None

    def snapshot(self) -> dict[str, Any]:
        return {
            "company": self.company.as_dict(),
            "clock": self.now_text(),
            "data": {
                name: copy.deepcopy(list(items.values())) for name, items in self.data.items()
            },
        }

    def data_as_lists(self) -> dict[str, list[Record]]:
        return {name: list(items.values()) for name, items in self.data.items()}

    def replace(self, data: dict[str, list[Record]], company: CompanySettings) -> None:
        self.company = company
        self.data = {name: {} for name in COLLECTIONS}
        for name, records in data.items():
            key = "Code" if name == "countries" else "Id"
            for record in records:
                self.data[name][str(record[key])] = record


def _is_guid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4
