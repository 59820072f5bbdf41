"""Visma eAccounting API v2 connector."""

from koppel.connectors.eaccounting.client import EAccountingClient
from koppel.connectors.eaccounting.models import (
    Article,
    ArticleAccountCoding,
    ArticleBarcode,
    Country,
    Customer,
    CustomerInvoice,
    CustomerInvoiceRow,
    DeliveryMethod,
    DeliveryTerm,
    Meta,
    Order,
    OrderRow,
    OrderStatus,
    Page,
    PaymentStatus,
    TermsOfPayment,
    Unit,
    VatCode,
)
from koppel.connectors.eaccounting.settings import EAccountingSettings

__all__ = [
    "Article",
    "ArticleAccountCoding",
    "ArticleBarcode",
    "Country",
    "Customer",
    "CustomerInvoice",
    "CustomerInvoiceRow",
    "DeliveryMethod",
    "DeliveryTerm",
    "EAccountingClient",
    "EAccountingSettings",
    "Meta",
    "Order",
    "OrderRow",
    "OrderStatus",
    "Page",
    "PaymentStatus",
    "TermsOfPayment",
    "Unit",
    "VatCode",
]
