"""Deterministic demo data: the same seed and sizes always give the same administrations.

Lined up with the eAccounting sandbox through ``koppel.sandbox.common.seeding``: article ``n`` is
``ART-nnnn`` from ``shared_catalog`` (same name, EAN-13, price, VAT class, stock and active
flag as there); no ``UNKNOWN-...`` code ever exists here. Debtors are seeded persons and
companies from ``common.people``; ``SeedSpec.shared_emails`` gives the first debtors chosen
e-mail addresses so a test can make them match eAccounting customers.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from koppel.sandbox.accountview.schema import Table, build_tables
from koppel.sandbox.accountview.settings import Knobs, SeedSpec
from koppel.sandbox.accountview.stock import RESERVED, article_view
from koppel.sandbox.accountview.store import Company, Record, State, TableData, new_record
from koppel.sandbox.accountview.values import Value, to_json
from koppel.sandbox.common.people import COUNTRY_NAMES, make_party
from koppel.sandbox.common.seeding import seeded_uuid, shared_catalog, substream

# Seeded audit dates lie before this moment, so a dataset is identical on every run.
SEED_REFERENCE = datetime(2025, 1, 1, 9, 0, 0)
SEED_USER = "SEED"

VAT_CODES = [
    # code, name, pct, reverse charge
    ("21", "Btw hoog 21%", 21.0, False),
    ("09", "Btw laag 9%", 9.0, False),
    ("00", "Btw nul 0%", 0.0, False),
    ("EU", "Intracommunautaire levering 0%", 0.0, True),
    ("EX", "Export buiten de EU 0%", 0.0, False),
]
LEDGERS = [
    ("1000", "Kas", "B"),
    ("1100", "Bank", "B"),
    ("1300", "Debiteuren", "B"),
    ("1500", "Te betalen btw hoog", "B"),
    ("1510", "Te betalen btw laag", "B"),
    ("1600", "Crediteuren", "B"),
    ("3000", "Voorraad", "B"),
    ("7000", "Kostprijs omzet", "W"),
    ("8000", "Omzet Nederland", "W"),
    ("8010", "Omzet EU", "W"),
    ("8020", "Omzet export", "W"),
    ("8100", "Omzet verzendkosten", "W"),
]
JOURNALS = [
    ("VK", "Verkoopboek", "V", "1300"),
    ("IK", "Inkoopboek", "I", "1600"),
    ("BNK", "Bank", "B", "1100"),
    ("MEM", "Memoriaal", "M", ""),
]
PAY_CONDITIONS = [
    ("14", "14 dagen netto", 14, 0, 0.0),
    ("30", "30 dagen netto", 30, 0, 0.0),
    ("00", "Contant", 0, 0, 0.0),
    ("8K", "8 dagen 2% korting, 30 dagen netto", 30, 8, 2.0),
]
GROUPS = [
    ("KEUKEN", "Keuken en tafel"),
    ("WONEN", "Wonen"),
    ("KANTOOR", "Kantoor en boeken"),
    ("BUITEN", "Buiten en onderweg"),
    ("SPEL", "Spellen"),
    ("DIENST", "Diensten"),
]
# first word of a shared-catalogue name -> article group
_GROUP_OF = {
    "Koffiemok": "KEUKEN",
    "Theeglas": "KEUKEN",
    "Snijplank": "KEUKEN",
    "Broodtrommel": "KEUKEN",
    "Kaasschaaf": "KEUKEN",
    "Theedoek": "KEUKEN",
    "Ovenwant": "KEUKEN",
    "Pepermolen": "KEUKEN",
    "Notitieboek": "KANTOOR",
    "Vulpen": "KANTOOR",
    "Bureaulamp": "KANTOOR",
    "Kookboek": "KANTOOR",
    "Puzzel": "SPEL",
    "Speelkaarten": "SPEL",
    "Waterfles": "BUITEN",
    "Fietsbel": "BUITEN",
    "Regenjas": "BUITEN",
    "Zaklamp": "BUITEN",
    "Rugzak": "BUITEN",
    "Paraplu": "BUITEN",
}
# Extra order-line articles a tenant may configure (shipping costs, payment fee).
SERVICE_ARTICLES = [("VERZEND", "Verzendkosten", 6.95), ("BETAALKOST", "Betaalkosten", 0.35)]


class _Seeder:
    def __init__(self, company: Company, rnd: random.Random) -> None:
        self.c = company
        self.rnd = rnd

    def add(self, table: str, values: dict[str, Value], days_ago: float | None = None) -> Record:
        if days_ago is None:
            days_ago = self.rnd.uniform(30, 400)
        when = (SEED_REFERENCE - timedelta(days=days_ago)).replace(microsecond=0)
        td = self.c.tables[table]
        rec = new_record(td, values, when, SEED_USER)
        td.put(rec)
        return rec


def build_state(spec: SeedSpec, ean_field: str = "BAR_CODE") -> State:
    state = State()
    ids = substream(spec.seed, "accountview:companies")
    for ci in range(spec.companies):
        cid = str(seeded_uuid(ids))
        code = "KOPPELDEMO" if ci == 0 else f"KOPPELDEMO{ci + 1}"
        desc = "Koppel Demo B.V." if ci == 0 else f"Koppel Demo {ci + 1} B.V."
        company = Company(cid, code, desc)
        company.tables = {name: TableData(t) for name, t in build_tables(ean_field).items()}
        company.counters = {"SUB_NR": 10001, "ORD_NR": 50001, "INV_NR": 100001}
        state.companies[cid] = company
        # The second and later administrations are smaller, for multi-company tests.
        scale = 1 if ci == 0 else 10
        rnd = substream(spec.seed, f"accountview:company:{ci}")
        _seed_company(company, spec, scale, ean_field, rnd)
    return state


def _seed_company(
    c: Company, spec: SeedSpec, scale: int, ean_field: str, rnd: random.Random
) -> None:
    s = _Seeder(c, rnd)
    for code, name, pct, rev in VAT_CODES:
        acct = "1510" if code == "09" else "1500"
        s.add(
            "VAT",
            {
                "VAT_CODE": code,
                "VAT_NAME": name,
                "VAT_PCT": pct,
                "IS_REVERSE": rev,
                "VAT_TYPE": 1,
                "CALC_TYPE": 1,
                "VAT_ACCT": acct,
            },
            900,
        )
    for nr, name, kind in LEDGERS:
        s.add("LEDGER", {"ACCT_NR": nr, "ACCT_NAME": name, "ACCT_TYPE": kind}, 900)
    for code, name, kind, acct in JOURNALS:
        s.add("DAILY", {"DJ_CODE": code, "DJ_NAME": name, "DJ_TYPE": kind, "ACCT_NR": acct}, 900)
    for code, desc, cred, disc, pct in PAY_CONDITIONS:
        s.add(
            "PAY_COND",
            {
                "DISC_CODE": code,
                "DISC_DESC": desc,
                "CRED_DAYS": cred,
                "DISC_DAYS": disc,
                "PD_PCT": pct,
            },
            900,
        )
    for code, desc in GROUPS:
        s.add("ART_GRP", {"AG_CODE": code, "AG_DESC": desc}, 800)
    if spec.empty:
        # An empty administration still has its set-up: VAT codes, ledger, journals, groups.
        return
    _seed_articles(s, spec.seed, spec.articles // scale, ean_field)
    debtors = _seed_debtors(s, spec.debtors // scale, spec.shared_emails)
    c.counters["SUB_NR"] = 10001 + len(debtors)
    _seed_orders(s, spec.orders // scale, debtors)
    _seed_invoices(s, spec.invoices // scale, debtors)


def _seed_articles(s: _Seeder, seed: int, n: int, ean_field: str) -> None:
    for item in shared_catalog(seed, n):
        on_order = float(s.rnd.choice([0, 0, 0, 10, 25, 50])) if item.is_stock else 0.0
        rec = s.add(
            "ARTICLE",
            {
                "ART_CODE": item.sku,
                "ART_DESC1": item.name,
                ean_field: item.ean,
                "AG_CODE": _GROUP_OF.get(item.name.split()[0], "WONEN"),
                "UNIT_CODE": "st" if item.unit == "pcs" else item.unit,
                "PX_SELL": item.net_price,
                "COST_PX": item.purchase_price,
                "VAT_CODE": "09" if item.vat_class == "low" else "21",
                "REC_BLK": not item.active,
                "QTY_TECH": item.stock_quantity,
                "QTY_BESTEL": on_order,
            },
            s.rnd.uniform(1, 200),
        )
        rec[RESERVED] = 0.0
    for code, desc, price in SERVICE_ARTICLES:
        rec = s.add(
            "ARTICLE",
            {
                "ART_CODE": code,
                "ART_DESC1": desc,
                "AG_CODE": "DIENST",
                "UNIT_CODE": "st",
                "PX_SELL": price,
                "VAT_CODE": "21",
            },
            500,
        )
        rec[RESERVED] = 0.0


def _seed_debtors(s: _Seeder, n: int, emails: list[str] | None) -> list[Record]:
    rnd = s.rnd
    out: list[Record] = []
    for i in range(1, n + 1):
        country = "NL" if rnd.random() < 0.7 else rnd.choice(["BE", "DE", "SE", "NO"])
        p = make_party(rnd, country=country, company=rnd.random() < 0.6, index=i)
        mail = emails[i - 1] if emails is not None and i <= len(emails) else p.email
        name = p.display_name[:40]
        eu = country in ("BE", "DE", "SE")
        rec = s.add(
            "CONTACT",
            {
                "SUB_NR": str(10000 + i),
                "ACCT_NR": "1300",
                "ACCT_NAME": name,
                "SRC_CODE": p.last_name.split()[-1].upper()[:10],
                "ADDRESS1": p.address1,
                "ST_STREET": p.address1.rsplit(" ", 1)[0],
                "ST_NR": p.address1.rsplit(" ", 1)[1],
                "POST_CODE": p.postal_code.upper(),
                "CITY": p.city,
                "CNT_CODE": country,
                "COUNTRY": COUNTRY_NAMES[country][0][:30],
                "MAIL_BUS": mail,
                "TEL_BUS": p.phone,
                "MAIN_CONT": p.person_name if p.is_company else "",
                "VAT_NR": p.vat_number or "",
                "VAT_CODE": "21" if country == "NL" else "EU" if eu else "EX",
                "DISC_CODE": rnd.choice(["14", "30"]),
                "CUR_CODE": "EUR",
                "LNG_CODE": p.language.upper(),
            },
        )
        out.append(rec)
        if rnd.random() < 0.4:
            s.add(
                "DEL_ADDR",
                {
                    "SUB_NR": rec["SUB_NR"],
                    "DEL_NAME": name,
                    "ADDRESS1": p.address1,
                    "POST_CODE": rec["POST_CODE"],
                    "CITY": p.city,
                    "CNT_CODE": country,
                    "MAIL_BUS": mail,
                },
            )
    return out


def _seed_orders(s: _Seeder, n: int, debtors: list[Record]) -> None:
    arts = [
        r
        for r in s.c.tables["ARTICLE"].rows.values()
        if not r["REC_BLK"] and str(r["ART_CODE"]).startswith("ART-")
    ]
    if not debtors or not arts:
        return
    for _ in range(n):
        debtor = s.rnd.choice(debtors)
        nr = str(s.c.counters["ORD_NR"])
        s.c.counters["ORD_NR"] += 1
        when = (SEED_REFERENCE - timedelta(days=s.rnd.uniform(1, 20))).replace(microsecond=0)
        s.add(
            "SO_HDR",
            {
                "ORD_NR": nr,
                "ORD_DATE": when,
                "RPL_INV": debtor["SUB_NR"],
                "RPL_DEL": debtor["SUB_NR"],
                "COMMENT1": f"Demo-order {nr}",
            },
            1,
        )
        for art in s.rnd.sample(arts, min(len(arts), s.rnd.randint(1, 3))):
            qty = float(s.rnd.randint(1, 3))
            s.add(
                "SO_LINE",
                {
                    "ORD_NR": nr,
                    "ART_CODE": art["ART_CODE"],
                    "ORD_QTY": qty,
                    "ART_PX": art["PX_SELL"],
                },
                1,
            )
            art[RESERVED] = float(art[RESERVED] or 0) + qty  # type: ignore[arg-type]


def _seed_invoices(s: _Seeder, n: int, debtors: list[Record]) -> None:
    for _ in range(min(n, len(debtors))):
        debtor = s.rnd.choice(debtors)
        nr = str(s.c.counters["INV_NR"])
        s.c.counters["INV_NR"] += 1
        amount = round(s.rnd.uniform(20, 500), 2)
        when = (SEED_REFERENCE - timedelta(days=s.rnd.uniform(1, 60))).replace(microsecond=0)
        s.add(
            "DJ_PAGE",
            {
                "DJ_CODE": "VK",
                "SUB_NR": debtor["SUB_NR"],
                "INV_NR": nr,
                "TRN_DATE": when,
                "PERIOD": when.month,
                "HDR_DESC": f"Factuur {nr}",
                "CUR_CODE": "EUR",
                "CRED_DAYS": 14,
                "DISC_CODE": "14",
            },
            1,
        )
        s.add(
            "DJ_LINE",
            {
                "INV_NR": nr,
                "ACCT_NR": "8000",
                "TRN_DESC": "Omzet",
                "AMOUNT": amount,
                "VAT_CODE": "21",
                "VAT_AMT": round(amount * 0.21, 2),
            },
            1,
        )


def render(table: Table, rec: Record) -> dict[str, Any]:
    if table.name == "ARTICLE":
        rec = article_view(rec, Knobs())
    return {name: to_json(f, rec.get(name)) for name, f in table.fields.items()}


def seed_dataset(
    spec: SeedSpec | None = None, ean_field: str = "BAR_CODE", **sizes: Any
) -> dict[str, Any]:
    """The seeded dataset as plain JSON-like data, for tests and benchmarks.

    ``seed_dataset(articles=5000)`` or ``seed_dataset(SeedSpec(seed=7))``; returns
    ``{"companies": [{"Id", "Code", "Description", "tables": {TABLE: [records]}}]}``.
    """
    spec = spec or SeedSpec(**sizes)
    state = build_state(spec, ean_field)
    out = []
    for c in state.companies.values():
        tables = {
            name: [render(td.table, r) for r in td.rows.values()] for name, td in c.tables.items()
        }
        out.append({**c.summary(), "tables": tables})
    return {"companies": out}
