"""Typed eAccounting v2 resources (the ones Koppel's flows use).

Attributes are snake_case with the API's PascalCase as aliases (``populate_by_name``), and
unknown properties are kept (``extra="allow"``) so a read-merge-write PUT, which replaces
the whole record, sends back what this model does not know about. Field names and limits
come from the official OpenAPI document (``CustomerApi``, ``ArticleApi``, ``OrderApi`` ...).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_pascal


def _date_part(value: Any) -> Any:
    # The API types OrderDate as date-time but expects YYYY-MM-DD; accept both on read.
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        return value[:10]
    if isinstance(value, datetime):
        return value.date()
    return value


ApiDate = Annotated[date, BeforeValidator(_date_part)]


class EAModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_pascal,
        populate_by_name=True,
        extra="allow",
        use_enum_values=False,
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON body: PascalCase, nulls left out, unknown properties kept."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OrderStatus(IntEnum):
    DRAFT = 1
    ONGOING = 2
    SHIPPED = 3
    INVOICED = 4


class PaymentStatus(IntEnum):
    PAID = 0
    UNPAID = 1
    OVERDUE = 2


class Meta(EAModel):
    current_page: int
    page_size: int
    total_number_of_pages: int
    total_number_of_results: int
    server_time_utc: datetime


T = TypeVar("T", bound=EAModel)


class Page(BaseModel, Generic[T]):
    meta: Meta
    data: list[T]


class TermsOfPayment(EAModel):
    id: UUID | None = None
    name: str | None = None
    name_english: str | None = None
    number_of_days: int | None = None
    terms_of_payment_type_id: int | None = None
    terms_of_payment_type_text: str | None = None
    available_for_sales: bool | None = None
    available_for_purchase: bool | None = None


class Customer(EAModel):
    id: UUID | None = None
    customer_number: str | None = Field(default=None, max_length=16)
    name: str = Field(max_length=50)
    is_private_person: bool = False
    is_active: bool = True
    terms_of_payment_id: UUID
    invoice_address1: str | None = Field(default=None, max_length=50)
    invoice_address2: str | None = Field(default=None, max_length=50)
    invoice_postal_code: str = Field(max_length=10)
    invoice_city: str = Field(max_length=50)
    invoice_country_code: str | None = Field(default=None, max_length=2)
    delivery_customer_name: str | None = Field(default=None, max_length=100)
    delivery_address1: str | None = Field(default=None, max_length=50)
    delivery_address2: str | None = Field(default=None, max_length=50)
    delivery_postal_code: str | None = Field(default=None, max_length=10)
    delivery_city: str | None = Field(default=None, max_length=50)
    delivery_country_code: str | None = Field(default=None, max_length=2)
    email_address: str | None = Field(default=None, max_length=255)
    email_addresses: list[str] | None = None
    contact_person_name: str | None = Field(default=None, max_length=100)
    contact_person_email: str | None = Field(default=None, max_length=255)
    contact_person_phone: str | None = Field(default=None, max_length=50)
    contact_person_mobile: str | None = Field(default=None, max_length=50)
    telephone: str | None = Field(default=None, max_length=50)
    mobile_phone: str | None = Field(default=None, max_length=50)
    vat_number: str | None = Field(default=None, max_length=20)
    corporate_identity_number: str | None = Field(default=None, max_length=20)
    currency_code: str | None = Field(default=None, max_length=3)
    www_address: str | None = Field(default=None, max_length=255)
    note: str | None = Field(default=None, max_length=4000)
    delivery_method_id: UUID | None = None
    delivery_term_id: UUID | None = None
    terms_of_payment: TermsOfPayment | None = None
    changed_utc: datetime | None = None


class ArticleBarcode(EAModel):
    barcode: str | None = None
    barcode_type: int = 0


class Article(EAModel):
    id: UUID | None = None
    is_active: bool = True
    number: str = Field(max_length=40)
    name: str = Field(max_length=50)
    name_english: str | None = Field(default=None, max_length=50)
    net_price: float | None = None
    gross_price: float | None = None
    coding_id: UUID
    coding_name: str | None = None
    unit_id: UUID
    unit_name: str | None = None
    unit_abbreviation: str | None = None
    is_stock: bool | None = None
    stock_balance: float | None = None
    stock_balance_reserved: float | None = None
    stock_balance_available: float | None = None
    stock_balance_manually_changed_utc: datetime | None = None
    purchase_price: float | None = None
    is_service_article: bool | None = None
    stock_location_reference: str | None = None
    note: str | None = Field(default=None, max_length=4000)
    barcodes: list[ArticleBarcode] | None = None
    currency_code: str | None = Field(default=None, max_length=3)
    created_utc: datetime | None = None
    changed_utc: datetime | None = None

    @property
    def barcode_values(self) -> list[str]:
        return [b.barcode for b in self.barcodes or [] if b.barcode]


class OrderRow(EAModel):
    id: UUID | None = None
    line_number: int = Field(ge=0, le=1000)
    article_id: UUID | None = None
    article_number: str | None = Field(default=None, max_length=40)
    is_text_row: bool = False
    text: str | None = Field(default=None, max_length=2000)
    unit_price: float | None = None
    discount_percentage: float | None = Field(default=None, ge=0, le=1)
    quantity: float | None = None
    delivered_quantity: float | None = None
    amount: float | None = None
    vat_rate: float | None = None
    unit_id: UUID | None = None
    is_work_cost: bool = False
    eligible_for_reverse_charge_on_vat: bool = False


class Order(EAModel):
    id: UUID | None = None
    number: int | None = None
    customer_id: UUID
    customer_number: str | None = None
    customer_name: str | None = None
    customer_is_private_person: bool | None = None
    currency_code: str = Field(max_length=3)
    status: OrderStatus
    order_date: ApiDate | None = None
    delivery_date: ApiDate | None = None
    amount: float | None = None
    vat_amount: float | None = None
    roundings_amount: float | None = None
    includes_vat: bool | None = None
    your_reference: str | None = Field(default=None, max_length=100)
    our_reference: str | None = Field(default=None, max_length=100)
    buyers_order_reference: str | None = Field(default=None, max_length=35)
    invoice_customer_name: str | None = None
    invoice_address1: str | None = None
    invoice_address2: str | None = None
    invoice_postal_code: str | None = None
    invoice_city: str | None = None
    invoice_country_code: str | None = None
    delivery_customer_name: str | None = None
    delivery_address1: str | None = None
    delivery_address2: str | None = None
    delivery_postal_code: str | None = None
    delivery_city: str | None = None
    delivery_country_code: str | None = None
    delivery_method_name: str | None = None
    delivery_method_code: str | None = None
    delivery_term_name: str | None = None
    delivery_term_code: str | None = None
    terms_of_payment_id: UUID | None = None
    eu_third_party: bool = False
    reverse_charge_on_construction_services: bool = False
    rot_reduced_invoicing_type: int = 0
    rows: list[OrderRow] | None = None
    created_utc: datetime | None = None
    modified_utc: datetime | None = None


class CustomerInvoiceRow(EAModel):
    id: UUID | None = None
    line_number: int | None = None
    article_id: UUID | None = None
    article_number: str | None = None
    is_text_row: bool | None = None
    text: str | None = None
    unit_price: float | None = None
    quantity: float | None = None
    discount_percentage: float | None = None


class CustomerInvoice(EAModel):
    id: UUID | None = None
    invoice_number: int | None = None
    customer_id: UUID
    customer_number: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    invoice_date: ApiDate | None = None
    due_date: ApiDate | None = None
    currency_code: str | None = None
    total_amount: float | None = None
    total_vat_amount: float | None = None
    remaining_amount: float | None = None
    payment_status: PaymentStatus | None = None
    payment_date: datetime | None = None
    is_credit_invoice: bool | None = None
    created_from_order_id: UUID | None = None
    eu_third_party: bool = False
    rot_reduced_invoicing_type: int = 0
    rows: list[CustomerInvoiceRow] = Field(default_factory=list)
    created_utc: datetime | None = None
    modified_utc: datetime | None = None

    @property
    def is_paid(self) -> bool:
        return self.payment_status == PaymentStatus.PAID


class VatCode(EAModel):
    id: UUID | None = None
    code: str | None = None
    description: str | None = None
    vat_rate: float | None = None
    oss_code_type: int | None = None
    related_accounts: dict[str, Any] | None = None


class DeliveryMethod(EAModel):
    id: UUID | None = None
    name: str = Field(max_length=100)
    name_english: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=20)


class DeliveryTerm(EAModel):
    id: UUID | None = None
    name: str = Field(max_length=100)
    name_english: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=20)
    editable: bool | None = None


class Unit(EAModel):
    id: UUID | None = None
    name: str | None = None
    code: str | None = None
    abbreviation: str | None = None
    abbreviation_english: str | None = None


class ArticleAccountCoding(EAModel):
    id: UUID | None = None
    name: str | None = None
    name_english: str | None = None
    type: str | None = None
    vat_rate: str | None = None
    vat_rate_percent: float | None = None
    is_active: bool | None = None
    domestic_sales_subject_to_vat_account_number: int | None = None
    domestic_sales_vat_exempt_account_number: int | None = None
    changed_utc: datetime | None = None


class Country(EAModel):
    code: str | None = None
    name: str | None = None
    name_english: str | None = None
    is_eu_member: bool | None = None
