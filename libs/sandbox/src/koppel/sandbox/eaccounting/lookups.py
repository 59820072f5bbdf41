"""Lookup tables of a Dutch eAccounting company: units, codings, VAT codes, terms, delivery."""

from __future__ import annotations

import random
from typing import Any

from koppel.sandbox.common.people import COUNTRY_NAMES
from koppel.sandbox.common.seeding import seeded_uuid, substream

Record = dict[str, Any]

# (code, name, english, abbreviation)
UNITS = [
    ("st", "Stuk", "Piece", "st", "pcs"),
    ("set", "Set", "Set", "set", "set"),
    ("uur", "Uur", "Hour", "u", "h"),
    ("kg", "Kilogram", "Kilogram", "kg", "kg"),
]
# (key, name, english, type, vat code, fraction)
CODINGS = [
    ("goods_high", "Verkoop goederen hoog", "Sales goods high", "Goods", "21", 0.21),
    ("goods_low", "Verkoop goederen laag", "Sales goods low", "Goods", "9", 0.09),
    ("goods_zero", "Verkoop goederen 0%", "Sales goods 0%", "Goods", "0", 0.0),
    ("service_high", "Verkoop diensten hoog", "Sales services high", "Service", "21", 0.21),
]
# (code, description, percent)
VAT_CODES = [
    ("NL-H", "Btw hoog NL", 21.0),
    ("NL-L", "Btw laag NL", 9.0),
    ("NL-0", "Btw 0% NL", 0.0),
    ("SE-25", "Moms 25% SE", 25.0),
    ("SE-12", "Moms 12% SE", 12.0),
    ("SE-6", "Moms 6% SE", 6.0),
    ("NO-25", "MVA 25% NO", 25.0),
    ("NO-15", "MVA 15% NO", 15.0),
    ("BE-21", "BTW 21% BE", 21.0),
    ("DE-19", "MwSt 19% DE", 19.0),
    ("DE-7", "MwSt 7% DE", 7.0),
    ("EU-ICL", "Intracommunautaire levering", 0.0),
    ("EXP", "Export buiten EU", 0.0),
]
# (name, english, days, type id, type text)
TERMS = [
    ("14 dagen", "14 days", 14, 0, "Normal"),
    ("30 dagen", "30 days", 30, 0, "Normal"),
    ("Contant", "Cash", 0, 2, "Cash"),
    ("Kaartbetaling", "Card payment", 0, 3, "CardPayment"),
    ("Betaalprovider", "Payment service provider", 0, 5, "PaymentServiceProvider"),
]
DELIVERY_METHODS = [
    ("PostNL", "PostNL", "POSTNL"),
    ("DHL", "DHL", "DHL"),
    ("Bring", "Bring", "BRING"),
    ("PostNord", "PostNord", "POSTNORD"),
    ("Afhalen", "Pick-up", "PICKUP"),
]
DELIVERY_TERMS = [("Franco", "Free delivery", "FCA"), ("Af fabriek", "Ex works", "EXW")]
EXTRA_COUNTRIES = {
    "DK": ("Danmark", "Denmark"),
    "FI": ("Suomi", "Finland"),
    "FR": ("France", "France"),
    "GB": ("United Kingdom", "United Kingdom"),
    "US": ("United States", "United States"),
    "CH": ("Schweiz", "Switzerland"),
}
EU = {"NL", "BE", "DE", "SE", "DK", "FI", "FR"}


def build_lookups(seed: int, now_text: str) -> dict[str, list[Record]]:
    rng = substream(seed, "lookups")
    units = [
        {"Id": _id(rng), "Code": c, "Name": n, "Abbreviation": a, "AbbreviationEnglish": ae}
        for c, n, _e, a, ae in UNITS
    ]
    codings = [
        {
            "Id": _id(rng),
            "Name": n,
            "NameEnglish": e,
            "Type": t,
            "VatRate": code,
            "IsActive": True,
            "VatRatePercent": frac,
            "DomesticSalesSubjectToReversedConstructionVatAccountNumber": None,
            "DomesticSalesSubjectToVatAccountNumber": 8000 + i * 10,
            "DomesticSalesVatExemptAccountNumber": 8090,
            "ForeignSalesSubjectToMossAccountNumber": 8110,
            "ForeignSalesSubjectToThirdPartySalesAccountNumber": None,
            "ForeignSalesSubjectToVatWithinEuAccountNumber": 8120,
            "ForeignSalesVatExemptOutsideEuAccountNumber": 8130,
            "ForeignSalesVatExemptWithinEuAccountNumber": 8140,
            "DomesticSalesVatCodeExemptAccountNumber": None,
            "ChangedUtc": now_text,
        }
        for i, (_k, n, e, t, code, frac) in enumerate(CODINGS)
    ]
    vatcodes = [
        {
            "Id": _id(rng),
            "Code": c,
            "Description": d,
            "VatRate": p,
            "OssCodeType": 0,
            "RelatedAccounts": {
                "AccountNumber1": 1500 + i,
                "AccountNumber2": None,
                "AccountNumber3": None,
            },
        }
        for i, (c, d, p) in enumerate(VAT_CODES)
    ]
    terms = [
        {
            "Id": _id(rng),
            "Name": n,
            "NameEnglish": e,
            "NumberOfDays": d,
            "TermsOfPaymentTypeId": t,
            "TermsOfPaymentTypeText": tt,
            "AvailableForSales": True,
            "AvailableForPurchase": t == 0,
        }
        for n, e, d, t, tt in TERMS
    ]
    methods = [
        {"Id": _id(rng), "Name": n, "NameEnglish": e, "Code": c} for n, e, c in DELIVERY_METHODS
    ]
    dterms = [
        {"Id": _id(rng), "Name": n, "NameEnglish": e, "Code": c, "Editable": True}
        for n, e, c in DELIVERY_TERMS
    ]
    names = {**COUNTRY_NAMES, **EXTRA_COUNTRIES}
    countries = [
        {"Name": local, "NameEnglish": english, "Code": code, "IsEuMember": code in EU}
        for code, (local, english) in sorted(names.items())
    ]
    return {
        "units": units,
        "articleaccountcodings": codings,
        "vatcodes": vatcodes,
        "termsofpayments": terms,
        "deliverymethods": methods,
        "deliveryterms": dterms,
        "countries": countries,
    }


def _id(rng: random.Random) -> str:
    return str(seeded_uuid(rng))
