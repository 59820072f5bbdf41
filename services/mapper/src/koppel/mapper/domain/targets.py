"""What the target APIs accept: AccountView column types, lengths and mandatory flags, and
the eAccounting article limits. Mapped records are fitted here (uppercase ``!`` columns,
too-long text cut with a warning, too-long keys refused) and turned into AccountView's
positional POST body.

Lengths marked ``assumed`` are not in the research notes (AccountView does not document
them); they are conservative guesses to be replaced by the sandbox's data dictionary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from koppel.mapper.domain.errors import InvalidValue, MissingValue


@dataclass(frozen=True)
class Column:
    type: str = "C"  # FoxPro: C char, M memo, N numeric, I int, L logical, D date, T datetime
    length: int | None = None
    mandatory: bool = False
    upper: bool = False
    key: bool = False  # cutting it would point at another record: refuse instead
    assumed: bool = False


def C(
    length: int,
    *,
    mandatory: bool = False,
    upper: bool = False,
    key: bool = False,
    assumed: bool = False,
) -> Column:
    return Column("C", length, mandatory, upper, key, assumed)


N, T, L, INT = Column("N"), Column("T"), Column("L"), Column("I")

ACCOUNTVIEW: dict[str, dict[str, Column]] = {
    "CONTACT": {
        "SUB_NR": C(10, upper=True, key=True),  # mandatory, but auto-numbered on insert
        "ACCT_NR": C(10, mandatory=True, upper=True, key=True),
        "ACCT_NAME": C(40, mandatory=True),
        "SRC_CODE": C(10, mandatory=True, upper=True),
        "PAY_NAME": C(24),
        "ADDRESS1": C(80),
        "ADDR_LINE1": C(40),
        "ADDR_LINE2": C(40),
        "ST_STREET": C(60),
        "ST_NR": C(10),
        "ST_EXTRA": C(10),
        "POST_CODE": C(10, upper=True),
        "CITY": C(35),
        "BOX_CITY": C(35),
        "CNT_CODE": C(2, upper=True),
        "COUNTRY": C(30),
        "PO_BOX": C(80),
        "PO_CODE": C(10),
        "PO_CITY": C(35),
        "MAIL_BUS": C(50, key=True),
        "TEL_BUS": C(20),
        "TEL_MOB": C(20),
        "FAX_BUS": C(20),
        "WWW_URL": C(60),
        "MAIN_CONT": C(40),
        "MAIN_PP": C(10, upper=True),
        "MC_MAILB": C(50),
        "MC_DEAR": C(40),
        "VAT_NR": C(14, upper=True),
        "VAT_CODE": C(2, upper=True, key=True),
        "COC_CODE": C(15),
        "DISC_CODE": C(2, upper=True, key=True),
        "DISC_PCT": N,
        "CRED_LIM": INT,
        "IBAN_NR": C(34),
        "BANK_ACCT": C(34),
        "CUR_CODE": C(3),
        "LNG_CODE": C(5),
        "SHIP_MTH": C(10, key=True),
        "EMP_NR": C(10),
        "APX_LIST": C(5),
        "BLK_SP": L,
        "REC_BLK": L,
        "EL_SO": L,
        "EL_SI": L,
    },
    "DEL_ADDR": {
        "SUB_NR": C(10, upper=True, key=True),
        "DEL_NAME": C(40, mandatory=True, assumed=True),
        "ADDRESS1": C(80),
        "POST_CODE": C(10, upper=True),
        "CITY": C(35),
        "CNT_CODE": C(2, upper=True),
        "MAIL_BUS": C(50),
        "TEL_BUS": C(20),
    },
    "SO_HDR": {
        "ORD_DATE": T,
        "INV_DATE": T,
        "DEL_DATE": T,
        "RPL_INV": C(10, upper=True, key=True),
        "RPL_DEL": C(10, upper=True, key=True),
        "DEL_CODE": INT,
        "COMMENT1": C(60, key=True, assumed=True),
        "COMMENT2": C(60, assumed=True),
        "TO_EMAIL": C(50),
        "PD_AMT": N,
        "EMP_NR": C(10),
        "APX_LIST": C(5),
        "SHIP_MTH": C(10, key=True, assumed=True),
        "PAY_TYPE": C(10, key=True, assumed=True),
        "DISC_CODE": C(2, upper=True, key=True),
    },
    "SO_LINE": {
        "ART_CODE": C(20, mandatory=True, key=True, assumed=True),
        "ORD_QTY": N,
        "ART_PX": N,
        "DEL_DATE": T,
    },
    "DJ_PAGE": {
        "DJ_CODE": C(5, mandatory=True, key=True, assumed=True),
        "SUB_NR": C(10, upper=True, key=True),
        "INV_NR": C(20, assumed=True),
        "TRN_DATE": T,
        "PERIOD": N,
        "HDR_DESC": C(60, assumed=True),
        "GROSS_FLG": L,
        "CUR_CODE": C(3),
        "CRED_DAYS": N,
        "PD_PCT": N,
        "COMMENT1": C(60, key=True, assumed=True),
        "DISC_CODE": C(2, upper=True, key=True),
        "PAY_TYPE": C(10, key=True, assumed=True),
    },
    "DJ_LINE": {
        "ACCT_NR": C(10, mandatory=True, key=True),
        "TRN_DESC": C(60, assumed=True),
        "AMOUNT": N,
        "VAT_CODE": C(2, upper=True, key=True),
        "VAT_AMT": N,
        "TRN_QTY": N,
    },
}

# eAccounting ArticleApi writable fields and their limits (spec: required CodingId, IsActive,
# Name ≤50, Number ≤40, UnitId).
ARTICLE_TEXT_LIMITS: dict[str, tuple[int, bool]] = {
    "Number": (40, True),
    "Name": (50, False),
    "NameEnglish": (50, False),
    "Note": (4000, False),
    "CurrencyCode": (3, True),
    "SupplierArticleNumber": (16, False),
    "StockLocationReference": (100, False),
}
ARTICLE_FIELDS = frozenset(
    "IsActive Number Name NameEnglish NetPrice NetPriceWithDiscount GrossPrice CodingId UnitId "
    "StockBalance HouseWorkType PurchasePrice SendToWebshop UsesMoss ArticleLabels Note IsStock "
    "StockLocationReference FreightCosts UpdateStockPrices Barcodes GreenTechnologyType "
    "DiscountPercentage CurrencyCode PurchasePriceWithCurrency FreightCostWithCurrency "
    "OrderingPoint SupplierId SupplierArticleNumber".split()
)
ARTICLE_REQUIRED = ("CodingId", "IsActive", "Name", "Number", "UnitId")


def _text(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def fit_text(
    value: Any,
    limit: int,
    *,
    key: bool,
    upper: bool,
    where: str,
    record: str,
    warnings: list[str] | None,
) -> str:
    text = _text(value).strip()
    if upper:
        text = text.upper()
    if len(text) > limit:
        if key:
            raise InvalidValue(
                f"{record}: '{text}' is too long for {where} ({len(text)} characters, at most {limit})",
                field=where,
            )
        if warnings is not None:
            warnings.append(
                f"{record}: {where} was cut to {limit} characters ('{text}' → '{text[:limit]}')"
            )
        text = text[:limit]
    return text


@dataclass(frozen=True)
class _TablePlan:
    """Per-table lookups precomputed once: text columns and mandatory column names."""

    text: dict[str, tuple[int, bool, bool]]  # name → (length, key, upper)
    mandatory: tuple[str, ...]


_PLANS: dict[str, _TablePlan] = {
    table: _TablePlan(
        text={
            n: (c.length, c.key, c.upper) for n, c in columns.items() if c.type == "C" and c.length
        },
        mandatory=tuple(n for n, c in columns.items() if c.mandatory),
    )
    for table, columns in ACCOUNTVIEW.items()
}


def fit_record(
    table: str,
    record: dict[str, Any],
    *,
    record_name: str,
    warnings: list[str] | None,
    require: Iterable[str] = (),
) -> dict[str, Any]:
    """Fit every column: drop ``None``, uppercase ``!``, cut or refuse long text; then
    refuse a record that lacks a mandatory column (or one in ``require``)."""
    plan = _PLANS[table]
    text_columns = plan.text
    out: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        spec = text_columns.get(name)
        if spec is not None:
            limit, key, upper = spec
            text = value.strip() if isinstance(value, str) else _text(value).strip()
            if upper:
                text = text.upper()
            if len(text) > limit:
                text = fit_text(
                    text,
                    limit,
                    key=key,
                    upper=False,
                    where=f"{table}.{name}",
                    record=record_name,
                    warnings=warnings,
                )
            value = text
        out[name] = value
    for name in plan.mandatory:
        if out.get(name) in (None, ""):
            raise MissingValue(
                f"{record_name}: {table}.{name} is required by AccountView but has no value",
                field=f"{table}.{name}",
            )
    for name in require:
        if out.get(name) in (None, ""):
            raise MissingValue(
                f"{record_name}: {table}.{name} is required but has no value",
                field=f"{table}.{name}",
            )
    return out


def validate_accountview(
    table: str, record: Mapping[str, Any], *, insert: bool = True
) -> list[str]:
    """Problems AccountView would report for this record (for previews; never raises)."""
    columns = ACCOUNTVIEW.get(table, {})
    problems: list[str] = []
    for name, value in record.items():
        column = columns.get(name)
        if column is None:
            problems.append(f"{table}.{name} is not a column Koppel knows for {table}")
        elif column.type == "C" and column.length is not None and len(_text(value)) > column.length:
            problems.append(f"{table}.{name} is longer than {column.length} characters")
        elif column.upper and isinstance(value, str) and value != value.upper():
            problems.append(f"{table}.{name} must be upper case")
    for name, column in columns.items():
        if column.mandatory and record.get(name) in (None, ""):
            problems.append(f"{table}.{name} is mandatory")
    if table == "CONTACT" and not insert and not record.get("SUB_NR"):
        problems.append("CONTACT.SUB_NR is mandatory on update")
    return problems


_FIELD_TYPES = {"C": "C", "M": "M", "N": "N", "I": "I", "L": "L", "D": "D", "T": "T"}


def accountview_body(
    *,
    business_object: str,
    header_table: str,
    header: Mapping[str, Any],
    detail_table: str | None = None,
    lines: Iterable[Mapping[str, Any]] = (),
    book_date: str | None = None,
) -> dict[str, Any]:
    """AccountView's positional POST body: Definition + Rows, RowId first, details keyed
    by HeaderId (accountview-api-notes §5)."""
    header_columns = ACCOUNTVIEW.get(header_table, {})
    header_names = list(header)
    definition: dict[str, Any] = {
        "Name": header_table,
        "Fields": [{"Name": "RowId", "FieldType": "C"}]
        + [{"Name": n, "FieldType": header_columns.get(n, Column()).type} for n in header_names],
    }
    body: dict[str, Any] = {
        "BookDate": book_date,
        "BusinessObject": business_object,
        "Table": {"Definition": definition},
        "TableData": {"Data": {"Rows": [{"Values": ["1", *(header[n] for n in header_names)]}]}},
    }
    line_list = list(lines)
    if detail_table is not None:
        detail_columns = ACCOUNTVIEW.get(detail_table, {})
        names: list[str] = list(dict.fromkeys(n for line in line_list for n in line))
        body["Table"]["DetailDefinitions"] = [
            {
                "Name": detail_table,
                "Fields": [
                    {"Name": "RowId", "FieldType": "C"},
                    {"Name": "HeaderId", "FieldType": "C"},
                ]
                + [{"Name": n, "FieldType": detail_columns.get(n, Column()).type} for n in names],
            }
        ]
        body["TableData"]["DetailData"] = [
            {
                "Rows": [
                    {"Values": [str(i), "1", *(line.get(n) for n in names)]}
                    for i, line in enumerate(line_list, 1)
                ]
            }
        ]
    return body


def validate_article(article: Mapping[str, Any]) -> list[str]:
    """Problems eAccounting would report for an ArticleApi request body."""
    problems = [
        f"{name} is required" for name in ARTICLE_REQUIRED if article.get(name) in (None, "")
    ]
    for name, value in article.items():
        if name not in ARTICLE_FIELDS:
            problems.append(f"{name} is not a writable ArticleApi field")
        limit = ARTICLE_TEXT_LIMITS.get(name)
        if limit is not None and value is not None and len(str(value)) > limit[0]:
            problems.append(f"{name} is longer than {limit[0]} characters")
    return problems
