"""AccountView.net web API (v3) connector."""

from koppel.connectors.accountview.body import BodyBuilder, BuiltBody, TruncationWarning
from koppel.connectors.accountview.client import AccountViewClient, WriteResult
from koppel.connectors.accountview.foxpro import AV, date_literal, datetime_literal
from koppel.connectors.accountview.models import (
    Article,
    ArticleGroup,
    Company,
    Contact,
    DeliveryAddress,
    JournalLine,
    JournalPage,
    SalesInvoice,
    SalesOrder,
    SalesOrderHeader,
    SalesOrderLine,
    VatCode,
)
from koppel.connectors.accountview.query import Filter
from koppel.connectors.accountview.settings import AccountViewSettings

__all__ = [
    "AV",
    "AccountViewClient",
    "AccountViewSettings",
    "Article",
    "ArticleGroup",
    "BodyBuilder",
    "BuiltBody",
    "Company",
    "Contact",
    "DeliveryAddress",
    "Filter",
    "JournalLine",
    "JournalPage",
    "SalesInvoice",
    "SalesOrder",
    "SalesOrderHeader",
    "SalesOrderLine",
    "TruncationWarning",
    "VatCode",
    "WriteResult",
    "date_literal",
    "datetime_literal",
]
