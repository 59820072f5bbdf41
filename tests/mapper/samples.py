"""Hand-built records in the real API shapes: eAccounting OrderApi / CustomerApi (PascalCase,
as GET returns them) and AccountView ARTICLE rows (UPPERCASE columns, as AK1 returns them)."""

from __future__ import annotations

import copy
from typing import Any

CODING_21 = "9b0a4a2e-6f0c-4a51-9d2c-1f2e3d4c5b6a"
CODING_9 = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
UNIT_PCS = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
TERMS_30 = "3e8c1a7e-2f4b-4c1d-9a55-8b7e6f5d4c3b"


def order_nl_company() -> dict[str, Any]:
    """Three goods lines (one with a 10% line discount), a shipping row, NL company."""
    return copy.deepcopy(
        {
            "Id": "5b7e0c2e-1111-4444-8888-000000001042",
            "Number": 1042,
            "CustomerId": "0f1e2d3c-aaaa-4bbb-8ccc-000000000042",
            "CurrencyCode": "EUR",
            "OrderDate": "2024-05-01",
            "DeliveryDate": "2024-05-03",
            "Status": 3,
            "IncludesVat": False,
            "CustomerIsPrivatePerson": False,
            "InvoiceCustomerName": "Bakkerij De Vries B.V.",
            "InvoiceAddress1": "Dorpsstraat 12a-2",
            "InvoiceAddress2": None,
            "InvoicePostalCode": "1234ab",
            "InvoiceCity": "Utrecht",
            "InvoiceCountryCode": "NL",
            "DeliveryCustomerName": "Bakkerij De Vries, filiaal Den Haag",
            "DeliveryAddress1": "Laan van Meerdervoort 1001 A",
            "DeliveryPostalCode": "2555CD",
            "DeliveryCity": "Den Haag",
            "DeliveryCountryCode": "NL",
            "DeliveryMethodName": "PostNL",
            "DeliveryMethodCode": "PNL",
            "TermsOfPaymentId": TERMS_30,
            "YourReference": "PO-77",
            "EuThirdParty": False,
            "ReverseChargeOnConstructionServices": False,
            "RotReducedInvoicingType": 0,
            "Rows": [
                {
                    "LineNumber": 0,
                    "ArticleNumber": "BROOD-01",
                    "Text": "Volkoren brood",
                    "Quantity": 10,
                    "UnitPrice": 2.5,
                    "DiscountPercentage": 0.1,
                    "VatRate": 9,
                    "IsTextRow": False,
                    "IsWorkCost": False,
                    "EligibleForReverseChargeOnVat": False,
                },
                {
                    "LineNumber": 1,
                    "ArticleNumber": "KOFFIE-1KG",
                    "Text": "Koffiebonen 1 kg",
                    "Quantity": 2,
                    "UnitPrice": 18.0,
                    "DiscountPercentage": 0,
                    "VatRate": 9,
                    "IsTextRow": False,
                    "IsWorkCost": False,
                    "EligibleForReverseChargeOnVat": False,
                },
                {
                    "LineNumber": 2,
                    "IsTextRow": True,
                    "Text": "Bezorgen via achterdeur",
                    "IsWorkCost": False,
                    "EligibleForReverseChargeOnVat": False,
                },
                {
                    "LineNumber": 3,
                    "ArticleNumber": "MOLEN-X",
                    "Text": "Koffiemolen",
                    "Quantity": 1,
                    "UnitPrice": 100.0,
                    "DiscountPercentage": 0,
                    "VatRate": 21,
                    "IsTextRow": False,
                    "IsWorkCost": False,
                    "EligibleForReverseChargeOnVat": False,
                },
                {
                    "LineNumber": 4,
                    "ArticleNumber": "VERZEND",
                    "Text": "Verzendkosten",
                    "Quantity": 1,
                    "UnitPrice": 6.95,
                    "VatRate": 21,
                    "IsTextRow": False,
                    "IsWorkCost": False,
                    "EligibleForReverseChargeOnVat": False,
                },
            ],
        }
    )


def order_be_person() -> dict[str, Any]:
    """A private person in Belgium; prices incl. VAT; one line."""
    return copy.deepcopy(
        {
            "Id": "5b7e0c2e-1111-4444-8888-000000001043",
            "Number": 1043,
            "CustomerId": "0f1e2d3c-aaaa-4bbb-8ccc-000000000043",
            "CurrencyCode": "EUR",
            "OrderDate": "2024-05-02T09:30:00Z",
            "IncludesVat": True,
            "CustomerIsPrivatePerson": True,
            "InvoiceCustomerName": "Sofie Peeters",
            "InvoiceAddress1": "Rue de la Loi 16",
            "InvoicePostalCode": "1000",
            "InvoiceCity": "Bruxelles",
            "InvoiceCountryCode": "BE",
            "DeliveryAddress1": "Rue de la Loi 16",
            "DeliveryPostalCode": "1000",
            "DeliveryCity": "Bruxelles",
            "DeliveryCountryCode": "BE",
            "DeliveryMethodName": "bpost",
            "Status": 2,
            "EuThirdParty": False,
            "ReverseChargeOnConstructionServices": False,
            "RotReducedInvoicingType": 0,
            "Rows": [
                {
                    "LineNumber": 0,
                    "ArticleNumber": "MOLEN-X",
                    "Quantity": 1,
                    "UnitPrice": 121.0,
                    "DiscountPercentage": 0.0,
                    "VatRate": 0.21,
                    "IsTextRow": False,
                    "IsWorkCost": False,
                    "EligibleForReverseChargeOnVat": False,
                },
            ],
        }
    )


def customer_company() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "Id": "0f1e2d3c-aaaa-4bbb-8ccc-000000000042",
            "CustomerNumber": "42",
            "Name": "Bakkerij De Vries B.V.",
            "IsPrivatePerson": False,
            "IsActive": True,
            "EmailAddress": "  Info@BakkerijDeVries.NL ",
            "ContactPersonName": "Jan de Vries",
            "ContactPersonEmail": "Jan@BakkerijDeVries.nl",
            "InvoiceAddress1": "Laan van Meerdervoort 1001 A",
            "InvoicePostalCode": "2555cd",
            "InvoiceCity": "Den Haag",
            "InvoiceCountryCode": "NL",
            "VatNumber": "NL004495445B01",
            "TermsOfPaymentId": TERMS_30,
            "TermsOfPayment": {"Id": TERMS_30, "Name": "30 dagen", "NumberOfDays": 30},
            "Telephone": "070-1234567",
            "CurrencyCode": "EUR",
            "CorporateIdentityNumber": "12345678",
        }
    )


def customer_person() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "Id": "0f1e2d3c-aaaa-4bbb-8ccc-000000000044",
            "Name": "Piet Jansen",
            "IsPrivatePerson": True,
            "IsActive": True,
            "EmailAddress": "piet.jansen@example.nl",
            "InvoiceAddress1": "Postbus 12",
            "InvoicePostalCode": "9700 AA",
            "InvoiceCity": "Groningen",
            "InvoiceCountryCode": "NL",
            "TermsOfPaymentId": TERMS_30,
        }
    )


def customer_german_company() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "Id": "0f1e2d3c-aaaa-4bbb-8ccc-000000000045",
            "Name": "Müller & Söhne GmbH Feinkost und Delikatessen Großhandel",
            "IsPrivatePerson": False,
            "IsActive": True,
            "EmailAddress": "einkauf@mueller-soehne.de",
            "ContactPersonName": "Anna Müller",
            "InvoiceAddress1": "Bahnhofstr. 7/3",
            "InvoicePostalCode": "10115",
            "InvoiceCity": "Berlin",
            "InvoiceCountryCode": "DE",
            "VatNumber": "DE 136,695 976",
            "TermsOfPaymentId": TERMS_30,
        }
    )


def article_with_ean() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "ART_CODE": "KOFFIE-1KG",
            "ART_DESC1": "Koffiebonen Arabica 1 kg",
            "ART_DESC2": "Volle bonen, medium branding, fairtrade. Geschikt voor espresso en filter.",
            "AG_CODE": "KOFFIE",
            "PX_SELL": 18.0,
            "VAT_CODE": "1",
            "EAN_CODE": "8710398500144",
            "UNIT_CODE": "ST",
            "REC_BLK": False,
            "QTY_TECH": 40.0,
            "QTY_FREE2": 35.0,
            "QTY_AVAIL": 38.0,
            "QTY_BESTEL": 12.0,
            "CNG_DATE": "2024-05-01T10:00:00",
        }
    )


def article_without_ean() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "ART_CODE": "MOLEN-X",
            "ART_DESC1": "Koffiemolen X met keramisch maalwerk en twintig maalstanden",
            "PX_SELL": 121.0,
            "VAT_CODE": "2",
            "EAN_CODE": "",
            "REC_BLK": True,
            "QTY_TECH": 3,
            "QTY_FREE2": 1,
            "QTY_AVAIL": 3,
            "QTY_BESTEL": 0,
        }
    )


VALUE_MAPS: dict[str, dict[str, Any]] = {
    "vat_codes": {
        "entries": {"NL:21": "2", "NL:9": "1", "BE:21": "5", "NL": "2", "BE": "5", "DE": "6"}
    },
    "revenue_accounts": {"entries": {"NL": "8000", "BE": "8100", "DE": "8200"}},
    "terms_of_payment": {"entries": {TERMS_30: "30"}},
    "shipping_methods": {"entries": {"PostNL": "PNL", "bpost": "BPOST"}},
    "shipping_article": {"entries": {"bpost": "VERZEND-BE"}, "default": "VERZEND"},
    "discount_article": {"default": "KORTING"},
    "default_debtor": {"default": "99999"},
    "sku_map": {"entries": {"KOFFIE-1KG": "KOF1000"}},
    "article_codings": {"entries": {"1": CODING_9, "2": CODING_21}},
    "vat_rates": {"entries": {"1": 9, "2": 21}},
    "units": {"entries": {"ST": UNIT_PCS}, "default": UNIT_PCS},
}
