"""Per-flow settings the default mappings read. Defaults are what a Dutch webshop-style
administration usually wants; the tenant changes them with the mapping (``settings``).

The gateway owns "flow settings" (status filter, schedule...); these are only the choices
that change the *shape* of what the mapper produces. See the README for what we would take
from the gateway once its flow settings exist.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Where the eAccounting order number is written, so the orders service's existence check
# finds it again (AccountView has no duplicate protection): a column of the header table,
# i.e. SO_HDR.COMMENT1 for sales orders and DJ_PAGE.COMMENT1 for sales-journal invoices.
# The orders service reads the column name from ``OrderMapped.target["order_number_field"]``
# and defaults to the same "COMMENT1" (koppel.orders.mapped.DEFAULT_ORDER_NUMBER_FIELD).
ORDER_NUMBER_FIELD = "COMMENT1"

StockFormula = Literal[
    "available_minus_reserved", "technical", "free", "available", "available_plus_on_order"
]
# The gateway's flow settings name some formulas differently; both spellings are accepted.
STOCK_FORMULA_ALIASES = {
    "available_minus_reservations": "available_minus_reserved",
    "on_hand": "technical",
    "on_hand_minus_reservations": "available_minus_reserved",
}


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderSettings(_Settings):
    target_kind: Literal["sales_order", "sales_invoice"] = "sales_order"
    order_number_field: str = ORDER_NUMBER_FIELD
    discount_mode: Literal["line", "order"] = "line"
    # What AccountView's prices mean in this administration (SO_LINE.ART_PX, DJ GROSS_FLG).
    prices_include_vat: bool = False
    # eAccounting article numbers that are shipping costs rather than goods.
    shipping_article_numbers: list[str] = Field(default_factory=list)
    use_default_debtor: bool = False
    sales_journal_code: str = "V"
    collective_account: str = "1210"
    default_country: str = "NL"
    default_vat_rate: float = 21.0


class CustomerSettings(_Settings):
    collective_account: str = "1210"  # CONTACT.ACCT_NR, the debtors' collective account
    default_country: str = "NL"
    # CONTACT has no documented revenue-account column; set one to write revenue_accounts.
    revenue_account_field: str | None = None
    map_vat_code: bool = True


class StockSettings(_Settings):
    formula: StockFormula = "available_minus_reserved"
    technical_field: str = "QTY_TECH"
    reserved_field: str | None = None  # AccountView's reservation column is unknown [?]
    free_field: str = "QTY_FREE2"  # technical − reserved for sales orders, per AccountView
    available_field: str = "QTY_AVAIL"
    on_order_field: str = "QTY_BESTEL"

    @field_validator("formula", mode="before")
    @classmethod
    def _gateway_names(cls, value: Any) -> Any:
        return STOCK_FORMULA_ALIASES.get(value, value) if isinstance(value, str) else value


class ProductSettings(_Settings):
    price_field: str = "PX_SELL"
    source_prices_include_vat: bool = False
    target_price: Literal["NetPrice", "GrossPrice"] = "NetPrice"
    name_field: str = "ART_DESC1"  # short description → Name (≤50)
    long_description_field: str | None = "ART_DESC2"  # → Note (≤4000)
    ean_field: str | None = "EAN_CODE"
    vat_code_field: str = "VAT_CODE"
    unit_field: str | None = "UNIT_CODE"
    blocked_field: str = "REC_BLK"
    default_unit_id: str | None = None
    default_coding_id: str | None = None
    currency: str = "EUR"
    manage_stock: bool = True
    stock: StockSettings = Field(default_factory=StockSettings)


FLOW_SETTINGS: dict[str, type[_Settings]] = {
    "orders": OrderSettings,
    "customers": CustomerSettings,
    "products": ProductSettings,
    "stock": StockSettings,
}
