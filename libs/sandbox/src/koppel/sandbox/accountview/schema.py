"""Tables and business objects of the AccountView sandbox.

Field names, types, lengths, mandatory and forced-uppercase (``!``) flags for CONTACT come from
the field reference in the AccountView research notes (docs: libs/sandbox/ACCOUNTVIEW.md);
everything the notes mark as unknown is a documented choice made here (lengths of ARTICLE,
DEL_ADDR, SO_HDR, ...; the order-number field ``ORD_NR``; the payment-condition table
``PAY_COND``; the EAN field, whose name is a setting).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# FoxPro field types (notes section 5): C char, M memo, N numeric, Y currency, B double,
# I integer, L logical, D date, T datetime.
FIELD_TYPES = frozenset("CMNYBILDT")
NUMERIC_TYPES = frozenset("NYB")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int = 0
    decimals: int = 0
    mandatory: bool = False
    upper: bool = False
    readonly: bool = False
    # (table, field) that a non-empty value must exist in
    ref: tuple[str, str] | None = None


def F(  # noqa: N802 - a tiny DSL reads better in the tables below
    name: str,
    type_: str,
    length: int = 0,
    decimals: int = 0,
    *,
    mand: bool = False,
    up: bool = False,
    ro: bool = False,
    ref: tuple[str, str] | None = None,
) -> Field:
    return Field(name, type_, length, decimals, mand, up, ro, ref)


def _audit() -> list[Field]:
    # Every table seen has these audit fields (notes section 8); the server maintains them.
    return [
        F("INP_DATE", "T", ro=True),
        F("INP_USR", "C", 20, ro=True),
        F("CNG_DATE", "T", ro=True),
        F("CNG_USR", "C", 20, ro=True),
        F("CNG_NR", "I", ro=True),
    ]


@dataclass
class Table:
    name: str
    key: str  # business key, used by PUT
    page_key: str  # keyset paging key for lastKey (SUB_NR, ACCT_NR, else REC_ID)
    fields: dict[str, Field] = field(default_factory=dict)
    auto_number: str | None = None  # field numbered by the server when missing

    def add(self, *fields: Field) -> None:
        for f in fields:
            self.fields[f.name] = f


@dataclass(frozen=True)
class BusinessObject:
    code: str
    description: str
    header: str
    detail: str | None = None
    insert: bool = False
    update: bool = False
    delete: bool = False
    readable: bool = True


def _table(name: str, key: str, page_key: str, auto: str | None, *fields: Field) -> Table:
    t = Table(name, key, page_key, auto_number=auto)
    t.add(F("REC_ID", "I", ro=True))
    t.add(*fields)
    t.add(*_audit())
    return t


def contact_table() -> Table:
    return _table(
        "CONTACT",
        "SUB_NR",
        "SUB_NR",
        "SUB_NR",
        F("SUB_NR", "C", 10, mand=True, up=True),
        F("ACCT_NR", "C", 10, mand=True, up=True, ref=("LEDGER", "ACCT_NR")),
        F("ACCT_NAME", "C", 40, mand=True),
        F("SRC_CODE", "C", 10, mand=True, up=True),
        F("PAY_NAME", "C", 24),
        F("ADDRESS1", "C", 80),
        F("ADDR_LINE1", "C", 40),
        F("ADDR_LINE2", "C", 40),
        F("ST_STREET", "C", 60),
        F("ST_NR", "C", 10),
        F("ST_EXTRA", "C", 10),
        F("POST_CODE", "C", 10, up=True),
        F("CITY", "C", 35),
        F("BOX_CITY", "C", 35),
        F("CNT_CODE", "C", 2, up=True),
        F("COUNTRY", "C", 30),
        F("PO_BOX", "C", 80),
        F("PO_CODE", "C", 10),
        F("PO_CITY", "C", 35),
        F("MAIL_BUS", "C", 50),
        F("TEL_BUS", "C", 20),
        F("TEL_MOB", "C", 20),
        F("FAX_BUS", "C", 20),
        F("WWW_URL", "C", 60),
        F("MAIN_CONT", "C", 40),
        F("MAIN_PP", "C", 10, up=True),
        F("MC_MAILB", "C", 50),
        F("MC_DEAR", "C", 40),
        F("ADMIN_CONT", "C", 40),
        F("ADMIN_NAME", "C", 40),
        F("ADMIN_PP", "C", 10, up=True),
        F("ADM_DEAR", "C", 40),
        F("VAT_NR", "C", 14, up=True),
        F("VAT_CODE", "C", 2, up=True, ref=("VAT", "VAT_CODE")),
        F("COC_CODE", "C", 15),
        F("DISC_CODE", "C", 2, up=True, ref=("PAY_COND", "DISC_CODE")),
        F("DISC_PCT", "N", 9, 2),
        F("CRED_LIM", "I"),
        F("DD_ACT", "L"),
        F("MAND_ID", "C", 35),
        F("MAND_DATE", "D"),
        F("MAND_B2B", "L"),
        F("IBAN_NR", "C", 34),
        F("BANK_ACCT", "C", 34),
        F("CUR_CODE", "C", 3, up=True),
        F("APX_LIST", "C", 5),
        F("QD_CODE", "C", 5),
        F("EMP_NR", "C", 10),
        F("LNG_CODE", "C", 5),
        F("SHIP_MTH", "C", 10),
        F("BLK_SP", "L"),
        F("REC_BLK", "L"),
        F("RPL_TYPE", "C", 10),
        F("RPL_GRP", "C", 10),
        F("RPL_INV", "C", 10, up=True, ref=("CONTACT", "SUB_NR")),
        F("EL_SO", "L"),
        F("EL_SI", "L"),
        F("SYNC_STATE", "I"),
        F("ACCT_BAL", "N", 14, 2, ro=True),
        F("AMT_REC", "N", 14, 2, ro=True),
        F("SALE_AMT", "N", 14, 2, ro=True),
        F("SALE_PY", "N", 14, 2, ro=True),
        F("TRANS_NR", "I", ro=True),
        F("CRED_BAL", "N", 14, 2, ro=True),
    )


def del_addr_table() -> Table:
    return _table(
        "DEL_ADDR",
        "REC_ID",
        "REC_ID",
        None,
        F("SUB_NR", "C", 10, mand=True, up=True, ref=("CONTACT", "SUB_NR")),
        F("DEL_NAME", "C", 40, mand=True),
        F("ADDRESS1", "C", 80),
        F("POST_CODE", "C", 10, up=True),
        F("CITY", "C", 35),
        F("CNT_CODE", "C", 2, up=True),
        F("MAIL_BUS", "C", 50),
        F("TEL_BUS", "C", 20),
    )


def article_table(ean_field: str = "BAR_CODE") -> Table:
    return _table(
        "ARTICLE",
        "ART_CODE",
        "REC_ID",
        None,
        F("ART_CODE", "C", 20, mand=True, up=True),
        F("ART_DESC1", "C", 60, mand=True),
        F("ART_DESC2", "C", 60),
        F("AG_CODE", "C", 10, up=True, ref=("ART_GRP", "AG_CODE")),
        F(ean_field, "C", 20),
        F("UNIT_CODE", "C", 10),
        F("PX_SELL", "N", 12, 4),
        F("COST_PX", "N", 12, 4),
        F("L_COSTPX", "N", 12, 4),
        F("B_COSTPX", "N", 12, 4),
        F("VAT_CODE", "C", 2, up=True, ref=("VAT", "VAT_CODE")),
        F("REC_BLK", "L"),
        # Stock is moved by stock transactions, not by writing the article (admin helpers do it).
        F("QTY_TECH", "N", 12, 2, ro=True),
        F("QTY_FREE2", "N", 12, 2, ro=True),
        F("QTY_AVAIL", "N", 12, 2, ro=True),
        F("QTY_BESTEL", "N", 12, 2, ro=True),
    )


def art_grp_table() -> Table:
    return _table(
        "ART_GRP",
        "AG_CODE",
        "REC_ID",
        None,
        F("AG_CODE", "C", 10, mand=True, up=True),
        F("AG_DESC", "C", 40, mand=True),
    )


def so_hdr_table() -> Table:
    return _table(
        "SO_HDR",
        "ORD_NR",
        "REC_ID",
        "ORD_NR",
        F("ORD_NR", "C", 10, mand=True, up=True),
        F("ORD_DATE", "T"),
        F("INV_DATE", "T"),
        F("DEL_DATE", "T"),
        F("RPL_INV", "C", 10, mand=True, up=True, ref=("CONTACT", "SUB_NR")),
        F("RPL_DEL", "C", 10, up=True, ref=("CONTACT", "SUB_NR")),
        F("DEL_CODE", "C", 10, ref=("DEL_ADDR", "REC_ID")),
        F("COMMENT1", "C", 60),
        F("COMMENT2", "C", 60),
        F("TO_EMAIL", "C", 50),
        F("PD_AMT", "N", 12, 2),
        F("EMP_NR", "C", 10),
        F("APX_LIST", "C", 5),
        F("A8_INV_NR", "C", 20),
        F("ORD_CLOSED", "L", ro=True),
    )


def so_line_table() -> Table:
    return _table(
        "SO_LINE",
        "REC_ID",
        "REC_ID",
        None,
        F("ORD_NR", "C", 10, up=True, ro=True),
        F("ART_CODE", "C", 20, mand=True, up=True, ref=("ARTICLE", "ART_CODE")),
        F("ORD_QTY", "N", 12, 2, mand=True),
        F("ART_PX", "N", 12, 4),
        F("DEL_DATE", "T"),
        F("LINE_DESC", "C", 60),
    )


def vat_table() -> Table:
    return _table(
        "VAT",
        "VAT_CODE",
        "REC_ID",
        None,
        F("VAT_CODE", "C", 2, mand=True, up=True),
        F("VAT_NAME", "C", 40, mand=True),
        F("VAT_PCT", "N", 7, 2),
        F("VAT_TYPE", "N", 1),
        F("CALC_TYPE", "N", 1),
        F("IS_REVERSE", "L"),
        F("IS_ABC", "L"),
        F("VAT_ACCT", "C", 10, up=True),
        F("VAT_LINK", "C", 2, up=True),
    )


def ledger_table() -> Table:
    return _table(
        "LEDGER",
        "ACCT_NR",
        "ACCT_NR",
        None,
        F("ACCT_NR", "C", 10, mand=True, up=True),
        F("ACCT_NAME", "C", 40, mand=True),
        F("ACCT_TYPE", "C", 1, up=True),
        F("VAT_CODE", "C", 2, up=True),
        F("REC_BLK", "L"),
    )


def daily_table() -> Table:
    return _table(
        "DAILY",
        "DJ_CODE",
        "REC_ID",
        None,
        F("DJ_CODE", "C", 5, mand=True, up=True),
        F("DJ_NAME", "C", 40, mand=True),
        F("DJ_TYPE", "C", 1, up=True),
        F("ACCT_NR", "C", 10, up=True),
    )


def pay_cond_table() -> Table:
    # Invented master table for payment conditions (the real one is unknown, notes section 7).
    return _table(
        "PAY_COND",
        "DISC_CODE",
        "REC_ID",
        None,
        F("DISC_CODE", "C", 2, mand=True, up=True),
        F("DISC_DESC", "C", 40, mand=True),
        F("CRED_DAYS", "N", 3),
        F("DISC_DAYS", "N", 3),
        F("PD_PCT", "N", 5, 2),
    )


def dj_page_table() -> Table:
    return _table(
        "DJ_PAGE",
        "INV_NR",
        "REC_ID",
        "INV_NR",
        F("DJ_CODE", "C", 5, mand=True, up=True, ref=("DAILY", "DJ_CODE")),
        F("SUB_NR", "C", 10, mand=True, up=True, ref=("CONTACT", "SUB_NR")),
        F("INV_NR", "C", 10, mand=True, up=True),
        F("TRN_DATE", "T"),
        F("PERIOD", "N", 2),
        F("HDR_DESC", "C", 40),
        F("GROSS_FLG", "L"),
        F("CUR_CODE", "C", 3, up=True),
        F("CRED_DAYS", "N", 3),
        F("DISC_DAYS", "N", 3),
        F("DISC_CODE", "C", 2, up=True, ref=("PAY_COND", "DISC_CODE")),
        F("PD_PCT", "N", 5, 2),
        F("PD_AMT", "N", 12, 2),
        F("EXP_DATE", "D"),
        F("PAY_TYPE", "C", 10),
        F("COMMENT1", "C", 60),
    )


def dj_line_table() -> Table:
    return _table(
        "DJ_LINE",
        "REC_ID",
        "REC_ID",
        None,
        F("INV_NR", "C", 10, up=True, ro=True),
        F("ACCT_NR", "C", 10, mand=True, up=True, ref=("LEDGER", "ACCT_NR")),
        F("TRN_DESC", "C", 40),
        F("AMOUNT", "N", 14, 2, mand=True),
        F("VAT_CODE", "C", 2, up=True, ref=("VAT", "VAT_CODE")),
        F("VAT_AMT", "N", 14, 2),
        F("TRN_QTY", "N", 12, 2),
    )


# Business object code -> definition (notes section 3). DJ2 is the write code and DJ2P the
# read code for journal pages; PC1 for payment conditions is invented (documented).
BUSINESS_OBJECTS: dict[str, BusinessObject] = {
    bo.code: bo
    for bo in [
        BusinessObject("AR1", "Debiteuren", "CONTACT", insert=True, update=True),
        BusinessObject("ADDR", "Afleveradressen", "DEL_ADDR", insert=True, update=True),
        BusinessObject("AK1", "Artikelen", "ARTICLE", insert=True, update=True),
        BusinessObject("AG1", "Artikelgroepen", "ART_GRP", insert=True, update=True),
        BusinessObject("SO1", "Verkooporders", "SO_HDR", "SO_LINE", insert=True),
        BusinessObject("DJ2", "Dagboekbladzijden", "DJ_PAGE", "DJ_LINE", insert=True),
        BusinessObject("DJ2P", "Dagboekbladzijden (lezen)", "DJ_PAGE", "DJ_LINE"),
        BusinessObject("VA1", "Btw-codes", "VAT"),
        BusinessObject("GL1", "Grootboekrekeningen", "LEDGER"),
        BusinessObject("DJ1", "Dagboeken", "DAILY"),
        BusinessObject("PC1", "Betalingscondities", "PAY_COND"),
    ]
}


def build_tables(ean_field: str = "BAR_CODE") -> dict[str, Table]:
    tables = [
        contact_table(),
        del_addr_table(),
        article_table(ean_field),
        art_grp_table(),
        so_hdr_table(),
        so_line_table(),
        vat_table(),
        ledger_table(),
        daily_table(),
        pay_cond_table(),
        dj_page_table(),
        dj_line_table(),
    ]
    return {t.name: t for t in tables}


# Detail table -> the header field it shares (filled from the header on insert).
DETAIL_LINK: dict[str, str] = {"SO_LINE": "ORD_NR", "DJ_LINE": "INV_NR"}
