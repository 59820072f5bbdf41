"""Typed AccountView records, named as the API names them (UPPERCASE FoxPro fields).

Each field carries its FoxPro type and, where known, its length and forced-uppercase flag
(``AV(...)`` in ``Annotated``); the body builder reads them. Lengths are from the data
dictionary dumps of CONTACT and VAT; elsewhere they are unknown and can be supplied through
``AccountViewSettings.field_lengths``. Unknown fields are kept (``extra="allow"``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from koppel.connectors.accountview.foxpro import AV, empty_to_none

C10U = Annotated[str | None, AV("C", 10, upper=True)]
Text = Annotated[str | None, AV("C")]
C3 = Annotated[str | None, AV("C", 3)]
C5 = Annotated[str | None, AV("C", 5)]
C10 = Annotated[str | None, AV("C", 10)]
C15 = Annotated[str | None, AV("C", 15)]
C20 = Annotated[str | None, AV("C", 20)]
C30 = Annotated[str | None, AV("C", 30)]
C35 = Annotated[str | None, AV("C", 35)]
C40 = Annotated[str | None, AV("C", 40)]
C50 = Annotated[str | None, AV("C", 50)]
C60 = Annotated[str | None, AV("C", 60)]
C80 = Annotated[str | None, AV("C", 80)]
C2U = Annotated[str | None, AV("C", 2, upper=True)]
C14U = Annotated[str | None, AV("C", 14, upper=True)]
Logical = Annotated[bool | None, AV("L")]
Numeric = Annotated[float | None, AV("N")]
Integer = Annotated[int | None, AV("I")]
DateTime = Annotated[datetime | None, BeforeValidator(empty_to_none), AV("T")]
Date = Annotated[date | None, BeforeValidator(empty_to_none), AV("D")]


ROW_INDEX_KEYS = frozenset({"EXT_KEY", "REC_ID"})
"""Response-only keys (row indexes, record ids), never written back; ``<TABLE>_Id`` too."""


class AVRecord(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    TABLE: ClassVar[str]
    BUSINESS_OBJECT: ClassVar[str]
    KEY: ClassVar[str]

    def value(self, name: str) -> Any:
        """A field by its API name, declared or extra."""
        if name in type(self).model_fields:
            return getattr(self, name)
        return (self.model_extra or {}).get(name)


class Company(BaseModel):
    model_config = ConfigDict(extra="allow")

    Id: str
    Description: str | None = None
    Code: str | None = None


class Contact(AVRecord):
    """A debtor (CONTACT via AR1)."""

    TABLE = "CONTACT"
    BUSINESS_OBJECT = "AR1"
    KEY = "SUB_NR"

    SUB_NR: C10U = None
    ACCT_NR: C10U = None
    ACCT_NAME: C40 = None
    SRC_CODE: C10U = None
    ADDRESS1: C80 = None
    ADDR_LINE1: C40 = None
    ADDR_LINE2: C40 = None
    ST_STREET: C60 = None
    ST_NR: C10 = None
    ST_EXTRA: C10 = None
    POST_CODE: C10U = None
    CITY: C35 = None
    CNT_CODE: C2U = None
    COUNTRY: C30 = None
    MAIL_BUS: C50 = None
    TEL_BUS: C20 = None
    TEL_MOB: C20 = None
    WWW_URL: C60 = None
    MAIN_CONT: C40 = None
    MC_MAILB: C50 = None
    MC_DEAR: C40 = None
    VAT_NR: C14U = None
    VAT_CODE: C2U = None
    COC_CODE: C15 = None
    DISC_CODE: C2U = None
    CUR_CODE: C3 = None
    LNG_CODE: C5 = None
    SHIP_MTH: C10 = None
    BLK_SP: Logical = None
    REC_BLK: Logical = None
    INP_DATE: DateTime = None
    CNG_DATE: DateTime = None
    CNG_NR: Integer = None


class DeliveryAddress(AVRecord):
    """A debtor's delivery address (DEL_ADDR via ADDR); the server numbers ``REC_ID``."""

    TABLE = "DEL_ADDR"
    BUSINESS_OBJECT = "ADDR"
    KEY = "REC_ID"

    REC_ID: Annotated[int | str | None, AV("I")] = None
    SUB_NR: C10U = None
    DEL_NAME: Text = None
    ADDRESS1: C80 = None
    POST_CODE: C10U = None
    CITY: C35 = None
    CNT_CODE: C2U = None
    MAIL_BUS: C50 = None
    TEL_BUS: C20 = None


class Article(AVRecord):
    """An article with its stock quantities (ARTICLE via AK1)."""

    TABLE = "ARTICLE"
    BUSINESS_OBJECT = "AK1"
    KEY = "ART_CODE"

    ART_CODE: Text = None
    ART_DESC1: Text = None
    AG_CODE: Text = None
    PX_SELL: Numeric = None
    COST_PX: Numeric = None
    VAT_CODE: C2U = None
    REC_BLK: Logical = None
    QTY_AVAIL: Numeric = None
    QTY_FREE2: Numeric = None
    QTY_TECH: Numeric = None
    QTY_BESTEL: Numeric = None
    INP_DATE: DateTime = None
    CNG_DATE: DateTime = None

    def stock(self, field: str = "QTY_FREE2", reserved_field: str | None = None) -> float:
        """The configured stock figure (see ``AccountViewSettings.stock_field``)."""
        level = float(self.value(field) or 0)
        if reserved_field:
            level -= float(self.value(reserved_field) or 0)
        return level


class ArticleGroup(AVRecord):
    TABLE = "ART_GRP"
    BUSINESS_OBJECT = "AG1"
    KEY = "AG_CODE"

    AG_CODE: Text = None
    AG_DESC: Text = None


class VatCode(AVRecord):
    TABLE = "VAT"
    BUSINESS_OBJECT = "VA1"
    KEY = "VAT_CODE"

    VAT_CODE: C2U = None
    VAT_NAME: C40 = None
    VAT_PCT: Numeric = None
    VAT_TYPE: Numeric = None
    CALC_TYPE: Numeric = None
    IS_REVERSE: Logical = None
    VAT_ACCT: C10U = None
    CNG_DATE: DateTime = None


class SalesOrderHeader(AVRecord):
    TABLE = "SO_HDR"
    BUSINESS_OBJECT = "SO1"
    KEY = "ORD_NR"

    ORD_NR: C10U = None
    ORD_DATE: DateTime = None
    INV_DATE: DateTime = None
    DEL_DATE: DateTime = None
    RPL_INV: C10U = None
    RPL_DEL: C10U = None
    DEL_CODE: Annotated[int | str | None, AV("C")] = None
    COMMENT1: Text = None
    COMMENT2: Text = None
    TO_EMAIL: Text = None
    PD_AMT: Numeric = None
    EMP_NR: C10U = None
    APX_LIST: C5 = None
    CNG_DATE: DateTime = None


class SalesOrderLine(AVRecord):
    TABLE = "SO_LINE"
    BUSINESS_OBJECT = "SO1"
    KEY = "REC_ID"

    ART_CODE: Text = None
    ORD_QTY: Numeric = None
    ART_PX: Numeric = None
    DEL_DATE: DateTime = None


class SalesOrder(BaseModel):
    """SO1: one header with its lines (read back or to be created)."""

    header: SalesOrderHeader
    lines: list[SalesOrderLine] = Field(default_factory=list)


class JournalPage(AVRecord):
    """A sales-journal page: an invoice booked through DJ2 (read with DJ2P)."""

    TABLE = "DJ_PAGE"
    BUSINESS_OBJECT = "DJ2"
    KEY = "INV_NR"

    DJ_CODE: Text = None
    SUB_NR: C10U = None
    INV_NR: Annotated[int | str | None, AV("C")] = None
    TRN_DATE: DateTime = None
    PERIOD: Numeric = None
    HDR_DESC: Text = None
    GROSS_FLG: Logical = None
    CUR_CODE: C3 = None
    CRED_DAYS: Numeric = None
    PD_PCT: Numeric = None
    DISC_CODE: C2U = None
    PAY_TYPE: Text = None
    EXP_DATE: Date = None
    COMMENT1: Text = None


class JournalLine(AVRecord):
    TABLE = "DJ_LINE"
    BUSINESS_OBJECT = "DJ2"
    KEY = "REC_ID"

    ACCT_NR: C10U = None
    TRN_DESC: Text = None
    AMOUNT: Numeric = None
    VAT_CODE: C2U = None
    VAT_AMT: Numeric = None
    TRN_QTY: Numeric = None


class SalesInvoice(BaseModel):
    page: JournalPage
    lines: list[JournalLine] = Field(default_factory=list)
