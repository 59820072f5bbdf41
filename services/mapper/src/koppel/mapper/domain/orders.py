"""Default mapping: eAccounting order (OrderApi) → AccountView sales order (SO1: SO_HDR +
SO_LINE) or sales-journal invoice (DJ2: DJ_PAGE + DJ_LINE), with the debtor to ensure and
the delivery address.

The result is the ``OrderMapped.target`` the orders service reads (``koppel.orders.mapped``):
``header``, ``lines``, ``delivery`` (DEL_ADDR columns), ``order_number_field`` (a header
column) and ``order_number``. Debtor columns (RPL_INV/RPL_DEL or SUB_NR) are filled by the
orders service once ``CustomerEnsured`` names the debtor, unless a default debtor is used.

Money: eAccounting unit prices are excl. VAT unless the order says ``IncludesVat``; they are
converted to what the AccountView administration uses (``prices_include_vat``) with the
row's VAT rate. Shipping rows (configured article numbers) and ``enrichment.shipping_cost``
become one line on the tenant's shipping-cost article; discounts stay on the lines
(``discount_mode=line``: discounted unit price) or become one order-level line on the
discount article (``discount_mode=order``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from koppel.mapper.domain.addresses import normalise_postcode
from koppel.mapper.domain.customers import map_customer
from koppel.mapper.domain.errors import InvalidValue, UnmappedValue
from koppel.mapper.domain.lineage import Lineage
from koppel.mapper.domain.settings import CustomerSettings, OrderSettings
from koppel.mapper.domain.transforms import EvalContext, round_half_up
from koppel.mapper.domain.valuemaps import ValueMaps, rate_key

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass
class MappedOrder:
    """The parts of an order mapping, before tenant overrides and fitting."""

    kind: str
    header_table: str
    line_table: str
    header: dict[str, Any]
    lines: list[dict[str, Any]]
    line_sources: list[dict[str, Any] | None]  # the eAccounting row behind each line
    customer: dict[str, Any]
    delivery: dict[str, Any] | None
    order_number: str
    default_debtor: str | None
    skus: list[str] = field(default_factory=list)


def order_label(order: dict[str, Any]) -> str:
    return f"Order {order.get('Number') or order.get('Id') or '?'}"


def av_datetime(value: Any, ctx: EvalContext, what: str) -> str | None:
    """eAccounting ``2024-05-01`` / ``2024-05-01T10:00:00Z`` → AccountView T ``2024-05-01T00:00:00``."""
    if value in (None, ""):
        return None
    text = str(value)
    if not _DATE.match(text):
        raise InvalidValue(f"{ctx.record}: {what} '{text}' is not a date")
    return f"{text[:10]}T00:00:00"


def _number(value: Any, ctx: EvalContext, what: str, default: float = 0.0) -> float:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidValue(f"{ctx.record}: {what} is not a number ({value!r})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{ctx.record}: {what} is not a number ({value!r})") from None
    if number != number or abs(number) > 1e12:
        raise InvalidValue(f"{ctx.record}: {what} is not a usable number ({value!r})")
    return number


def _rate(value: Any, ctx: EvalContext, default: float) -> float:
    if value is None or value == "":
        return default
    rate = _number(value, ctx, "the VAT rate")
    return rate * 100 if 0 < rate < 1 else rate


class _Pricing:
    """Converts eAccounting prices to the administration's basis (incl. or excl. VAT)."""

    __slots__ = ("source_incl", "target_incl")

    def __init__(self, source_incl: bool, target_incl: bool) -> None:
        self.source_incl = source_incl
        self.target_incl = target_incl

    def convert(self, amount: float, rate: float) -> float:
        if self.source_incl == self.target_incl:
            return amount
        factor = 1 + rate / 100
        return amount / factor if self.source_incl else amount * factor

    def vat_of(self, amount: float, rate: float) -> float:
        """The VAT inside (incl.) or on top of (excl.) a target-basis amount."""
        if self.target_incl:
            return amount - amount / (1 + rate / 100)
        return amount * rate / 100


def _customer_from_order(order: dict[str, Any], enrichment: dict[str, Any]) -> dict[str, Any]:
    """A CustomerApi-shaped record from the order's invoice fields, when the poller did not
    enrich the order with the customer itself."""
    return {
        "Name": order.get("InvoiceCustomerName") or order.get("CustomerName"),
        "IsPrivatePerson": order.get("CustomerIsPrivatePerson", True),
        "EmailAddress": enrichment.get("email"),
        "InvoiceAddress1": order.get("InvoiceAddress1"),
        "InvoiceAddress2": order.get("InvoiceAddress2"),
        "InvoicePostalCode": order.get("InvoicePostalCode"),
        "InvoiceCity": order.get("InvoiceCity"),
        "InvoiceCountryCode": order.get("InvoiceCountryCode"),
        "TermsOfPaymentId": order.get("TermsOfPaymentId"),
        "CurrencyCode": order.get("CurrencyCode"),
    }


# Lineage names when the debtor comes from the order's own invoice fields.
_ORDER_AS_CUSTOMER = {
    "source.Name": "source.InvoiceCustomerName",
    "source.EmailAddress": "enrichment.email",
    "source.ContactPersonEmail": "",
    "source.ContactPersonName": "",
    "source.TermsOfPayment.Name": "",
    "source.CustomerIsPrivatePerson": "source.CustomerIsPrivatePerson",
    "source.Telephone": "",
    "source.MobilePhone": "",
    "source.WwwAddress": "",
    "source.CorporateIdentityNumber": "",
    "source.VatNumber": "",
}
_CUSTOMER_LINEAGE_SOURCES = (
    "source.Name source.EmailAddress source.ContactPersonEmail source.ContactPersonName "
    "source.InvoiceAddress1 source.InvoiceAddress2 source.InvoicePostalCode source.InvoiceCity "
    "source.InvoiceCountryCode source.Telephone source.MobilePhone source.WwwAddress "
    "source.CurrencyCode source.CorporateIdentityNumber source.VatNumber source.TermsOfPaymentId "
    "source.TermsOfPayment.Name"
).split()


def map_order(
    order: dict[str, Any],
    enrichment: dict[str, Any],
    *,
    settings: OrderSettings,
    customer_settings: CustomerSettings,
    maps: ValueMaps,
    ctx: EvalContext,
    lineage: Lineage | None = None,
) -> MappedOrder:
    record = ctx.record
    raw_flow = enrichment.get("settings")
    flow: dict[str, Any] = raw_flow if isinstance(raw_flow, dict) else {}
    invoice = settings.target_kind == "sales_invoice"
    header_table, line_table = ("DJ_PAGE", "DJ_LINE") if invoice else ("SO_HDR", "SO_LINE")
    number = str(order.get("Number") or order.get("Id") or "").strip()
    if not number:
        raise InvalidValue(f"{record}: the order has neither a number nor an id")
    country = str(
        order.get("DeliveryCountryCode")
        or order.get("InvoiceCountryCode")
        or settings.default_country
    ).upper()
    order_date = av_datetime(order.get("OrderDate"), ctx, "the order date")
    delivery_date = av_datetime(order.get("DeliveryDate"), ctx, "the delivery date")
    pricing = _Pricing(bool(order.get("IncludesVat")), settings.prices_include_vat)
    order_mode = settings.discount_mode == "order"
    shipping_numbers = settings.shipping_article_numbers

    lines: list[dict[str, Any]] = []
    line_sources: list[dict[str, Any] | None] = []
    skus: list[str] = []
    shipping_total = _number(enrichment.get("shipping_cost"), ctx, "the shipping cost")
    shipping_rate = _rate(enrichment.get("shipping_vat_rate"), ctx, settings.default_vat_rate)
    discount_total = _number(enrichment.get("order_discount"), ctx, "the order discount")
    revenue_account = (
        str(maps.lookup("revenue_accounts", country, record=record)) if invoice else ""
    )

    def add_line(
        art_code: str,
        text: str,
        quantity: float,
        unit_price: float,
        rate: float,
        row: dict[str, Any] | None,
    ) -> None:
        if invoice:
            amount = round_half_up(unit_price * quantity)
            lines.append(
                {
                    "ACCT_NR": revenue_account,
                    "TRN_DESC": text or art_code,
                    "AMOUNT": amount,
                    "VAT_CODE": str(
                        maps.lookup("vat_codes", f"{country}:{rate_key(rate)}", record=record)
                    ),
                    "VAT_AMT": round_half_up(pricing.vat_of(amount, rate)),
                    "TRN_QTY": quantity,
                }
            )
        else:
            line: dict[str, Any] = {
                "ART_CODE": art_code,
                "ORD_QTY": quantity,
                "ART_PX": round_half_up(unit_price, 4),
            }
            if delivery_date:
                line["DEL_DATE"] = delivery_date
            lines.append(line)
        line_sources.append(row)
        if art_code and art_code not in skus:
            skus.append(art_code)

    for row in order.get("Rows") or ():
        if not isinstance(row, dict) or row.get("IsTextRow"):
            continue
        sku = str(row.get("ArticleNumber") or "").strip()
        quantity = _number(row.get("Quantity"), ctx, f"the quantity of {sku or 'a line'}", 1.0)
        rate = _rate(row.get("VatRate"), ctx, settings.default_vat_rate)
        unit = pricing.convert(
            _number(row.get("UnitPrice"), ctx, f"the price of {sku or 'a line'}"), rate
        )
        if sku in shipping_numbers:
            shipping_total += unit * quantity
            shipping_rate = rate
            continue
        if not sku:
            raise InvalidValue(f"{record}: line {row.get('LineNumber', '?')} has no article number")
        discount = _number(row.get("DiscountPercentage"), ctx, f"the discount of {sku}")
        if discount > 1:
            discount = discount / 100  # a percentage where a fraction was expected
        if discount and order_mode:
            discount_total += unit * quantity * discount
        elif discount:
            unit = unit * (1 - discount)
        add_line(
            maps.translate("sku_map", sku), str(row.get("Text") or ""), quantity, unit, rate, row
        )

    method = str(order.get("DeliveryMethodName") or order.get("DeliveryMethodCode") or "")
    if shipping_total:
        code = str(order.get("DeliveryMethodCode") or "")
        article = _article(
            maps, "shipping_article", method, record, flow.get("shipping_article"), (code,)
        )
        add_line(article, f"Shipping {method}".strip(), 1.0, shipping_total, shipping_rate, None)
    if discount_total:
        article = _article(maps, "discount_article", None, record, flow.get("discount_article"))
        add_line(article, "Discount", 1.0, -discount_total, settings.default_vat_rate, None)
    if not lines:
        raise InvalidValue(f"{record}: the order has no lines with articles")

    default_debtor = (
        str(maps.lookup("default_debtor", None, record=record))
        if settings.use_default_debtor
        else None
    )
    email = enrichment.get("email") or (enrichment.get("customer") or {}).get("EmailAddress")
    payment = enrichment.get("payment_method")
    header: dict[str, Any]
    if invoice:
        header = {
            "DJ_CODE": settings.sales_journal_code,
            "TRN_DATE": order_date,
            "HDR_DESC": f"Order {number}",
            "GROSS_FLG": settings.prices_include_vat,
            "CUR_CODE": order.get("CurrencyCode") or None,
            "DISC_CODE": maps.lookup_optional(
                "terms_of_payment", str(order.get("TermsOfPaymentId") or ""), record=record
            ),
            "PAY_TYPE": maps.lookup_optional("payment_methods", str(payment), record=record)
            if payment
            else None,
        }
        if default_debtor:
            header["SUB_NR"] = default_debtor
    else:
        header = {
            "ORD_DATE": order_date,
            "DEL_DATE": delivery_date,
            "COMMENT2": order.get("YourReference") or order.get("BuyersOrderReference") or None,
            "TO_EMAIL": str(email).strip().lower() if email else None,
            "SHIP_MTH": maps.lookup_optional("shipping_methods", method, record=record)
            if method
            else None,
        }
        if default_debtor:
            header["RPL_INV"] = default_debtor
            header["RPL_DEL"] = default_debtor
    fixed = flow.get("header_fields")
    if isinstance(fixed, dict):
        # Extra header columns with a fixed value, from the orders flow settings.
        header.update({str(k): v for k, v in fixed.items() if v not in (None, "")})
    header[settings.order_number_field] = number

    if default_debtor:
        customer: dict[str, Any] = {"SUB_NR": default_debtor}
    else:
        source_customer = enrichment.get("customer")
        if isinstance(source_customer, dict):
            rename = {s: f"enrichment.customer.{s[7:]}" for s in _CUSTOMER_LINEAGE_SOURCES}
        else:
            source_customer = _customer_from_order(order, enrichment)
            rename = _ORDER_AS_CUSTOMER
        customer = map_customer(
            source_customer,
            settings=customer_settings,
            maps=maps,
            ctx=ctx,
            lineage=lineage,
            prefix="CONTACT",
            rename=rename,
        )
    delivery = _delivery(order, country)
    if lineage is not None:
        _order_lineage(lineage, header_table, line_table, header, lines, line_sources, settings)
    return MappedOrder(
        kind=settings.target_kind,
        header_table=header_table,
        line_table=line_table,
        header=header,
        lines=lines,
        line_sources=line_sources,
        customer=customer,
        delivery=delivery,
        order_number=number,
        default_debtor=default_debtor,
        skus=skus,
    )


def _article(
    maps: ValueMaps,
    name: str,
    key: str | None,
    record: str,
    flow_default: Any,
    fallbacks: tuple[str, ...] = (),
) -> str:
    """The article of an extra line: the value map first, then the flow setting the orders
    service passed along (``enrichment.settings``), else an unmapped-value failure."""
    try:
        return str(maps.lookup(name, key, record=record, fallbacks=fallbacks))
    except UnmappedValue:
        if flow_default:
            return str(flow_default)
        raise


def _delivery(order: dict[str, Any], country: str) -> dict[str, Any] | None:
    line1 = str(order.get("DeliveryAddress1") or "").strip()
    if not (line1 or order.get("DeliveryPostalCode") or order.get("DeliveryCity")):
        return None
    line2 = str(order.get("DeliveryAddress2") or "").strip()
    return {
        "DEL_NAME": order.get("DeliveryCustomerName") or order.get("InvoiceCustomerName") or None,
        "ADDRESS1": f"{line1}, {line2}" if line2 else line1,
        "POST_CODE": normalise_postcode(order.get("DeliveryPostalCode"), country),
        "CITY": str(order.get("DeliveryCity") or "").strip(),
        "CNT_CODE": country,
    }


def _order_lineage(
    lineage: Lineage,
    header_table: str,
    line_table: str,
    header: dict[str, Any],
    lines: list[dict[str, Any]],
    line_sources: list[dict[str, Any] | None],
    settings: OrderSettings,
) -> None:
    add = lineage.add
    header_sources: dict[str, tuple[list[str], list[str]]] = {
        "ORD_DATE": (["source.OrderDate"], ["format_date"]),
        "TRN_DATE": (["source.OrderDate"], ["format_date"]),
        "DEL_DATE": (["source.DeliveryDate"], ["format_date"]),
        "COMMENT2": (["source.YourReference", "source.BuyersOrderReference"], ["default"]),
        "TO_EMAIL": (["enrichment.email", "enrichment.customer.EmailAddress"], ["email"]),
        "SHIP_MTH": (
            ["source.DeliveryMethodName", "source.DeliveryMethodCode"],
            ["lookup:shipping_methods"],
        ),
        "HDR_DESC": (["source.Number"], ["concat"]),
        "CUR_CODE": (["source.CurrencyCode"], []),
        "DISC_CODE": (["source.TermsOfPaymentId"], ["lookup:terms_of_payment"]),
        "PAY_TYPE": (["enrichment.payment_method"], ["lookup:payment_methods"]),
        "DJ_CODE": ([], ["settings.sales_journal_code"]),
        "GROSS_FLG": ([], ["settings.prices_include_vat"]),
        "RPL_INV": ([], ["lookup:default_debtor"]),
        "RPL_DEL": ([], ["lookup:default_debtor"]),
        "SUB_NR": ([], ["lookup:default_debtor"]),
        settings.order_number_field: (["source.Number", "source.Id"], ["order_number"]),
    }
    for column in header:
        sources, transforms = header_sources.get(column, ([], []))
        add(f"{header_table}.{column}", sources, transforms)
    price = ["price_basis(IncludesVat→prices_include_vat)"]
    for i, (line, row) in enumerate(zip(lines, line_sources, strict=True)):
        base = f"{line_table}[{i}]"
        rate_src = ["line.VatRate"] if row is not None else ["settings.default_vat_rate"]
        if row is None:
            origin = [
                "source.Rows(shipping)",
                "enrichment.shipping_cost",
                "enrichment.order_discount",
            ]
            for column in line:
                add(
                    f"{base}.{column}",
                    origin,
                    ["lookup:shipping_article|discount_article"] if column == "ART_CODE" else [],
                )
            continue
        specs: dict[str, tuple[list[str], list[str]]] = {
            "ART_CODE": (["line.ArticleNumber"], ["lookup:sku_map"]),
            "ORD_QTY": (["line.Quantity"], []),
            "TRN_QTY": (["line.Quantity"], []),
            "ART_PX": (
                ["line.UnitPrice", "line.DiscountPercentage", *rate_src],
                [*price, "discount", "round"],
            ),
            "AMOUNT": (
                ["line.UnitPrice", "line.Quantity", "line.DiscountPercentage", *rate_src],
                [*price, "discount", "round"],
            ),
            "VAT_AMT": (["line.UnitPrice", "line.Quantity", *rate_src], ["vat", "round"]),
            "VAT_CODE": (["source.DeliveryCountryCode", *rate_src], ["lookup:vat_codes"]),
            "ACCT_NR": (["source.DeliveryCountryCode"], ["lookup:revenue_accounts"]),
            "TRN_DESC": (["line.Text", "line.ArticleNumber"], ["default"]),
            "DEL_DATE": (["source.DeliveryDate"], ["format_date"]),
        }
        for column in line:
            sources, transforms = specs.get(column, ([], []))
            add(f"{base}.{column}", sources, transforms)
    for column, sources in (
        ("DEL_NAME", ["source.DeliveryCustomerName", "source.InvoiceCustomerName"]),
        ("ADDRESS1", ["source.DeliveryAddress1", "source.DeliveryAddress2"]),
        ("POST_CODE", ["source.DeliveryPostalCode"]),
        ("CITY", ["source.DeliveryCity"]),
        ("CNT_CODE", ["source.DeliveryCountryCode", "source.InvoiceCountryCode"]),
    ):
        add(f"DEL_ADDR.{column}", sources, ["postcode"] if column == "POST_CODE" else [])
