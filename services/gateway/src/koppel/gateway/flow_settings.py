"""The validated per-flow settings (every setting MISSION.md names).

These are the tenant's answers to the settings questions; the services that run a flow read
them from ``GET /internal/tenants/{id}/settings``. Every model forbids unknown fields, so a typo
is a 422 naming the field rather than a setting silently ignored.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from koppel.common.messages import Flow

# AccountView field names are upper case (``AG_CODE``, ``REC_BLK``, ``SUPPL_STCK``).
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")]
# AccountView debtor numbers (SUB_NR) and article codes (ART_CODE) are short codes.
AccountViewCode = Annotated[
    str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)
]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- orders ---------------------------------------------------------------------------------


class OrderStatus(StrEnum):
    """eAccounting order statuses (Status 1..4). "Paid" is not a status: see ``only_paid``."""

    draft = "draft"
    ongoing = "ongoing"
    shipped = "shipped"
    invoiced = "invoiced"


class OrderEnrichment(_Settings):
    """Values filled in when the eAccounting order lacks them."""

    store_id: str | None = Field(
        default=None, max_length=40, description="Store id put on every order."
    )
    default_country: str = Field(
        default="NL", pattern=r"^[A-Z]{2}$", description="ISO country when the order has none."
    )
    header_fields: dict[FieldName, str] = Field(
        default_factory=dict,
        description="Extra AccountView order header fields with a fixed value (SO_HDR field -> value).",
    )


class OrdersSettings(_Settings):
    statuses: list[OrderStatus] = Field(
        default_factory=lambda: [OrderStatus.shipped, OrderStatus.invoiced],
        min_length=1,
        description="Only orders in these eAccounting statuses are synced.",
    )
    only_paid: bool = Field(default=False, description="Only orders whose invoice is paid.")
    target: Literal["sales_order", "sales_invoice"] = Field(
        default="sales_order", description="Create a sales order or a sales invoice in AccountView."
    )
    default_debtor: AccountViewCode | None = Field(
        default=None,
        description="Book every order on this AccountView debtor (SUB_NR) instead of the customer.",
    )
    shipping_article: AccountViewCode | None = Field(
        default=None, description="Article code for the shipping-costs line."
    )
    payment_fee_article: AccountViewCode | None = Field(
        default=None, description="Article code for the payment-fee line."
    )
    discount_mode: Literal["order", "line"] = Field(
        default="line", description="Discounts per line or as one order-level line."
    )
    discount_article: AccountViewCode | None = Field(
        default=None,
        description="Article code for the order-level discount line (discount_mode=order).",
    )
    do_not_import_before: date | None = Field(
        default=None, description="Orders dated before this day are never imported."
    )
    batch_size: int = Field(
        default=100, ge=1, le=1000, description="At most this many orders per run."
    )
    enrichment: OrderEnrichment = Field(default_factory=OrderEnrichment)

    @model_validator(mode="after")
    def _discount_article_for_order_mode(self) -> OrdersSettings:
        if self.discount_mode == "order" and self.discount_article is None:
            raise ValueError("discount_article is required when discount_mode is 'order'")
        return self


# --- customers ------------------------------------------------------------------------------


class CustomersSettings(_Settings):
    update_existing: bool = Field(
        default=True, description="Update a debtor that already exists (matched by e-mail)."
    )
    default_debtor: AccountViewCode | None = Field(
        default=None, description="Book everything on this one debtor instead of creating debtors."
    )
    match_by: Literal["email"] = Field(
        default="email", description="How an eAccounting customer finds its debtor."
    )
    normalize_email: bool = Field(
        default=True, description="Trim and lower-case e-mails before matching."
    )
    normalize_postcode: bool = Field(
        default=True, description="Write Dutch postcodes as '1234 AB'."
    )


# --- products -------------------------------------------------------------------------------


class FilterOperator(StrEnum):
    eq = "=="
    ne = "!="
    in_ = "in"
    not_in = "not_in"
    gt = ">"
    ge = ">="
    lt = "<"
    le = "<="
    contains = "contains"
    starts_with = "starts_with"


Scalar = str | int | float | bool | None


class ProductFilter(_Settings):
    """One condition on an AccountView article, e.g. ``AG_CODE in ["WEB", "SHOP"]``."""

    field: FieldName
    operator: FilterOperator
    value: Scalar | list[str | int | float]

    @model_validator(mode="after")
    def _value_fits_operator(self) -> ProductFilter:
        is_list = isinstance(self.value, list)
        if self.operator in (FilterOperator.in_, FilterOperator.not_in):
            if not is_list or not self.value:
                raise ValueError(f"operator '{self.operator.value}' needs a non-empty list value")
        elif is_list:
            raise ValueError(f"operator '{self.operator.value}' needs a single value, not a list")
        if self.operator in (
            FilterOperator.contains,
            FilterOperator.starts_with,
        ) and not isinstance(self.value, str):
            raise ValueError(f"operator '{self.operator.value}' needs a text value")
        if self.operator in (
            FilterOperator.gt,
            FilterOperator.ge,
            FilterOperator.lt,
            FilterOperator.le,
        ) and (isinstance(self.value, bool) or not isinstance(self.value, int | float | str)):
            raise ValueError(f"operator '{self.operator.value}' needs a number, date or text value")
        return self


class ProductsSettings(_Settings):
    update_product_information: bool = Field(
        default=False,
        description="Overwrite fields enriched in eAccounting after creation (the 'update product information' box).",
    )
    create_only_fields: list[FieldName] = Field(
        default_factory=lambda: ["Name", "Description"],
        description="eAccounting article fields written only when the article is created.",
    )
    filters: list[ProductFilter] = Field(
        default_factory=list,
        max_length=50,
        description="Which AccountView articles sync; all must hold.",
    )
    filter_mode: Literal["all", "any"] = Field(
        default="all", description="Whether all filters or any one must hold."
    )
    match_by: Literal["sku", "sku_then_ean"] = Field(
        default="sku", description="How an article finds its eAccounting twin."
    )
    full_sweep_interval: int | None = Field(
        default=86400,
        ge=300,
        description="Seconds between full sweeps that ignore the cursor (null: never).",
    )
    price_includes_vat: bool = Field(
        default=False, description="AccountView sales prices include VAT."
    )
    sync_images: bool = Field(default=False, description="Optional extra: copy article images.")


# --- stock ----------------------------------------------------------------------------------


class StockFormula(StrEnum):
    available_minus_reservations = "available_minus_reservations"
    available = "available"
    on_hand = "on_hand"
    on_hand_minus_reservations = "on_hand_minus_reservations"


class StockInput(StrEnum):
    """The quantities a formula reads; ``field_overrides`` says which AccountView field holds each."""

    on_hand = "on_hand"
    available = "available"
    reserved = "reserved"


class StockSettings(_Settings):
    formula: StockFormula = Field(
        default=StockFormula.available_minus_reservations,
        description="How the quantity sent to eAccounting is computed.",
    )
    field_overrides: dict[StockInput, FieldName] = Field(
        default_factory=dict,
        description="Read a formula input from another AccountView field, e.g. {'on_hand': 'SUPPL_STCK'}.",
    )
    manage_stock: bool = Field(
        default=True, description="Whether eAccounting keeps stock for the article at all."
    )
    allow_negative: bool = Field(
        default=False, description="Send negative quantities instead of 0."
    )


FLOW_SETTINGS: dict[Flow, type[_Settings]] = {
    Flow.orders: OrdersSettings,
    Flow.customers: CustomersSettings,
    Flow.products: ProductsSettings,
    Flow.stock: StockSettings,
}

FlowSettings = OrdersSettings | CustomersSettings | ProductsSettings | StockSettings


def validate_flow_settings(flow: Flow, raw: dict[str, Any]) -> _Settings:
    """Raises pydantic's ValidationError (locations relative to the settings object)."""
    return FLOW_SETTINGS[flow].model_validate(raw)


def default_flow_settings(flow: Flow) -> dict[str, Any]:
    return FLOW_SETTINGS[flow]().model_dump(mode="json")
