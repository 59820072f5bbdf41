"""Async client for the AccountView.net web API (v3).

One instance per connection (tenant × AccountView company). Reads page through
``GET /accountviewdata`` until a short page (or by ``lastKey``); writes send the positional
Definition/Rows body to ``POST``/``PUT /accountviewdata``. Every call carries ``x-company``,
resolved once from the company code through ``GET /companies`` when only the code is known.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx
from pydantic import ValidationError

from koppel.connectors.accountview import query as q
from koppel.connectors.accountview.body import BodyBuilder, FieldTooLong, TruncationWarning
from koppel.connectors.accountview.errors import make_classifier
from koppel.connectors.accountview.models import (
    Article,
    ArticleGroup,
    AVRecord,
    Company,
    Contact,
    DeliveryAddress,
    JournalPage,
    SalesInvoice,
    SalesOrder,
    SalesOrderHeader,
    VatCode,
)
from koppel.connectors.accountview.settings import AccountViewSettings
from koppel.connectors.common.errors import (
    ErrorContext,
    FieldTooLongError,
    NotFoundError,
    UnexpectedResponseError,
)
from koppel.connectors.common.hooks import RequestHook
from koppel.connectors.common.http import HttpCore
from koppel.connectors.common.idempotency import CreateResult, create_once
from koppel.connectors.common.ratelimit import RateLimiterRegistry
from koppel.connectors.common.tokens import TokenProvider

R = TypeVar("R", bound=AVRecord)
DATA_PATH = "/accountviewdata"
LAST_KEY_FIELD = {"CONTACT": "SUB_NR", "LEDGER": "ACCT_NR"}  # others page by REC_ID


@dataclass(slots=True)
class WriteResult(Generic[R]):
    """What a POST/PUT returned: the header record, raw tables, and truncation warnings."""

    record: R | None
    tables: dict[str, list[dict[str, Any]]]
    warnings: list[TruncationWarning] = field(default_factory=list)


def _endpoint_key(scope: str) -> Callable[[str, str], str]:
    def key(_method: str, path: str) -> str:
        return "*" if scope == "connection" else "/" + path.strip("/").lower().split("/")[0]

    return key


def _norm(value: Any) -> str:
    return str(value or "").strip()


class AccountViewClient:
    def __init__(
        self,
        settings: AccountViewSettings,
        token_provider: TokenProvider,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        registry: RateLimiterRegistry | None = None,
        hooks: Iterable[RequestHook] = (),
    ) -> None:
        self.settings = settings
        http = settings.http_settings()
        http.hooks = tuple(hooks)
        self.http = HttpCore(
            http,
            token_provider=token_provider,
            classify=make_classifier(
                error_body_on_200=settings.error_body_on_200,
                not_found_is_empty=settings.not_found_is_empty,
            ),
            endpoint_key=_endpoint_key(settings.rate_limit_scope),
            transport=transport,
            registry=registry,
        )
        self.builder = BodyBuilder(
            truncation=settings.truncation, field_lengths=settings.field_lengths
        )
        self._company_id = settings.company_id
        # Handlers start by the dozen on one shared client: one company lookup for all.
        self._company_lookup = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- plumbing ----------------------------------------------------------------------

    def _ctx(self, method: str, path: str, record_key: str | None = None) -> ErrorContext:
        return self.http.context(method, path, record_key=record_key)

    async def list_companies(self) -> list[Company]:
        response = await self.http.request("GET", "/companies")
        data = self._decode(response, "GET", "/companies")
        if not isinstance(data, list):
            raise UnexpectedResponseError(
                "companies answer is not a list", self._ctx("GET", "/companies")
            )
        return [Company.model_validate(c) for c in data]

    async def company_id(self) -> str:
        if self._company_id is not None:
            return self._company_id
        async with self._company_lookup:
            if self._company_id is None:
                self._company_id = await self._look_up_company()
        return self._company_id

    async def _look_up_company(self) -> str:
        wanted = _norm(self.settings.company_code).upper()
        for company in await self.list_companies():
            if _norm(company.Code).upper() == wanted:
                return company.Id
        raise NotFoundError(
            f"no AccountView company with code {self.settings.company_code!r}",
            self._ctx("GET", "/companies", self.settings.company_code),
        )

    def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        if response.status_code == 404 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedResponseError(
                "AccountView answered with a body that is not JSON", self._ctx(method, path)
            ) from exc

    def _clean(self, row: dict[str, Any]) -> dict[str, Any]:
        if not self.settings.strip_char_values:
            return row
        return {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}

    @staticmethod
    def _table(data: Any, table: str) -> list[dict[str, Any]]:
        if not isinstance(data, dict):
            return []
        for key, rows in data.items():
            if key.upper() == table.upper() and isinstance(rows, list):
                return [r for r in rows if isinstance(r, dict)]
        return []

    def _parse(self, model: type[R], row: dict[str, Any]) -> R:
        try:
            return model.model_validate(self._clean(row))
        except ValidationError as exc:
            raise UnexpectedResponseError(
                f"AccountView sent a {model.TABLE} record this connector cannot read: {exc.errors()[:3]}",
                self._ctx("GET", DATA_PATH),
            ) from exc

    # --- reading -----------------------------------------------------------------------

    async def read_page(self, business_object: str, params: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"x-company": await self.company_id()}
        response = await self.http.request(
            "GET", DATA_PATH, params={"BusinessObject": business_object, **params}, headers=headers
        )
        data = self._decode(response, "GET", DATA_PATH)
        if not isinstance(data, dict):
            raise UnexpectedResponseError(
                "accountviewdata answer is not an object", self._ctx("GET", DATA_PATH)
            )
        return data

    async def iter_pages(
        self,
        model: type[R],
        *,
        filters: Sequence[q.Filter] = (),
        match_any: bool = False,
        business_object: str | None = None,
        fields: Sequence[str] | None = None,
        sort: Sequence[str] | None = None,
        page_size: int | None = None,
        book_date: date | None = None,
    ) -> AsyncIterator[list[R]]:
        """Pages of ``model.TABLE`` records; stops at the first short page (no paging metadata)."""
        size = page_size or self.settings.page_size
        base: dict[str, Any] = {"PageSize": size, **q.filter_params(filters, match_any=match_any)}
        if fields:
            base["Fields"] = ",".join(fields)
        if sort:
            base["SortFields"] = ",".join(sort)
            base["SortOrder"] = "ascending"
        if book_date:
            base["BookDate"] = book_date.isoformat()
        page_number, last_key = 1, None
        while True:
            params = dict(base)
            if self.settings.paging == "page_number":
                params["PageNumber"] = page_number
            elif last_key is not None:
                params["lastKey"] = last_key
            raw = self._table(
                await self.read_page(business_object or model.BUSINESS_OBJECT, params), model.TABLE
            )
            records = [self._parse(model, r) for r in raw]
            if records:
                yield records
            if len(raw) < size:
                return
            page_number += 1
            key_field = LAST_KEY_FIELD.get(model.TABLE, "REC_ID")
            last_key = _norm(raw[-1].get(key_field))

    async def list_all(self, model: type[R], **kw: Any) -> list[R]:
        return [r async for page in self.iter_pages(model, **kw) for r in page]

    def _text_match(self, field_name: str, value: str) -> q.Filter:
        if self.settings.char_match == "contains":
            return q.contains(field_name, value)
        return q.equal(field_name, value)

    async def _find_text(
        self,
        model: type[R],
        field_name: str,
        value: str,
        *,
        business_object: str | None = None,
        casefold: bool = False,
    ) -> list[R]:
        records = await self.list_all(
            model, filters=[self._text_match(field_name, value)], business_object=business_object
        )
        wanted = value.strip().lower() if casefold else value.strip()
        return [
            r
            for r in records
            if (_norm(r.value(field_name)).lower() if casefold else _norm(r.value(field_name)))
            == wanted
        ]

    async def _existing(self, model: type[R], field_name: str, values: Iterable[str]) -> set[str]:
        wanted = sorted({v.strip() for v in values if v.strip()})
        found: set[str] = set()
        step = self.settings.max_values_per_query
        for i in range(0, len(wanted), step):
            chunk = wanted[i : i + step]
            if self.settings.list_filter == "list_of_values":
                filters, match_any = (
                    [q.one_of(field_name, chunk, self.settings.list_separator)],
                    False,
                )
            else:
                filters, match_any = [q.equal(field_name, v) for v in chunk], True
            for record in await self.list_all(
                model, filters=filters, match_any=match_any, fields=None
            ):
                code = _norm(record.value(field_name))
                if code in chunk:
                    found.add(code)
        return found

    # --- writing -----------------------------------------------------------------------

    async def write(
        self,
        method: str,
        header: R,
        details: Sequence[AVRecord] = (),
        *,
        business_object: str | None = None,
        book_date: date | datetime | None = None,
        record_key: str | None = None,
    ) -> WriteResult[R]:
        try:
            built = self.builder.build(
                business_object or header.BUSINESS_OBJECT, header, details, book_date=book_date
            )
        except FieldTooLong as exc:
            raise FieldTooLongError(str(exc), self._ctx(method, DATA_PATH, record_key)) from exc
        headers = {
            "x-company": await self.company_id(),
            "Content-Type": "application/json; charset=utf-8",
        }
        response = await self.http.request(
            method, DATA_PATH, json=built.body, headers=headers, record_key=record_key
        )
        data = self._decode(response, method, DATA_PATH)
        tables = (
            {k: v for k, v in data.items() if isinstance(v, list)} if isinstance(data, dict) else {}
        )
        rows = self._table(tables, header.TABLE)
        record = self._parse(type(header), rows[0]) if rows else None
        return WriteResult(record=record, tables=tables, warnings=built.warnings)

    # --- debtors -----------------------------------------------------------------------

    def _email(self, email: str) -> str:
        return email.strip().lower() if self.settings.normalise_emails else email.strip()

    def iter_debtors(self, changed_since: datetime | None = None) -> AsyncIterator[list[Contact]]:
        filters = [q.changed_on_or_after("CNG_DATE", changed_since)] if changed_since else []
        return self.iter_pages(Contact, filters=filters)

    async def get_debtor(self, sub_nr: str) -> Contact | None:
        hits = await self._find_text(Contact, "SUB_NR", sub_nr.upper())
        return hits[0] if hits else None

    async def find_debtors_by_email(self, email: str) -> list[Contact]:
        return await self._find_text(
            Contact, "MAIL_BUS", self._email(email), casefold=self.settings.normalise_emails
        )

    async def find_debtor_by_email(self, email: str) -> Contact | None:
        hits = await self.find_debtors_by_email(email)
        return hits[0] if hits else None

    def _prepared(self, contact: Contact) -> Contact:
        if contact.MAIL_BUS and self.settings.normalise_emails:
            contact = contact.model_copy(update={"MAIL_BUS": self._email(contact.MAIL_BUS)})
        return contact

    async def create_debtor(
        self, contact: Contact, *, book_date: date | None = None
    ) -> WriteResult[Contact]:
        contact = self._prepared(contact)
        return await self.write(
            "POST", contact, book_date=book_date, record_key=contact.SUB_NR or contact.MAIL_BUS
        )

    async def create_debtor_once(self, contact: Contact) -> CreateResult[WriteResult[Contact]]:
        """Create unless a debtor with the same number (or, without one, e-mail) exists."""
        contact = self._prepared(contact)

        async def find() -> WriteResult[Contact] | None:
            hit = await (
                self.get_debtor(contact.SUB_NR)
                if contact.SUB_NR
                else self.find_debtor_by_email(contact.MAIL_BUS or "")
            )
            return WriteResult(record=hit, tables={}) if hit else None

        if not (contact.SUB_NR or contact.MAIL_BUS):
            raise ValueError("create_debtor_once needs SUB_NR or MAIL_BUS as the deterministic key")
        return await create_once(
            lambda: self.create_debtor(contact),
            find,
            policy=self.settings.retry_policy(),
            clock=self.http.registry.clock,
        )

    async def update_debtor(
        self, sub_nr: str, changes: Mapping[str, Any] | Contact
    ) -> WriteResult[Contact]:
        """PUT the key plus the changed fields only (AccountView updates the fields defined)."""
        patch = (
            changes.model_dump(exclude_unset=True)
            if isinstance(changes, Contact)
            else dict(changes)
        )
        contact = self._prepared(Contact.model_validate({**patch, "SUB_NR": sub_nr}))
        return await self.write("PUT", contact, record_key=sub_nr)

    # --- delivery addresses ------------------------------------------------------------

    async def list_delivery_addresses(self, sub_nr: str) -> list[DeliveryAddress]:
        return await self._find_text(DeliveryAddress, "SUB_NR", sub_nr.upper())

    async def create_delivery_address(
        self, address: DeliveryAddress
    ) -> WriteResult[DeliveryAddress]:
        return await self.write("POST", address, record_key=address.SUB_NR)

    # --- articles, groups, VAT -----------------------------------------------------------

    def iter_articles(
        self, changed_since: datetime | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[list[Article]]:
        """Changed articles (``CNG_DATE`` on or after), or the full sweep without a date."""
        filters = [q.changed_on_or_after("CNG_DATE", changed_since)] if changed_since else []
        return self.iter_pages(Article, filters=filters, page_size=page_size)

    async def get_article(self, art_code: str) -> Article | None:
        hits = await self._find_text(Article, "ART_CODE", art_code)
        return hits[0] if hits else None

    async def find_articles_by_ean(self, ean: str) -> list[Article]:
        return await self._find_text(Article, self.settings.ean_field, ean)

    async def existing_article_codes(self, codes: Iterable[str]) -> set[str]:
        """Which article codes exist, asked in one query per ``max_values_per_query`` codes."""
        return await self._existing(Article, "ART_CODE", codes)

    def stock_level(self, article: Article) -> float:
        return article.stock(self.settings.stock_field, self.settings.reserved_stock_field)

    async def list_article_groups(self) -> list[ArticleGroup]:
        return await self.list_all(ArticleGroup)

    async def list_vat_codes(self) -> list[VatCode]:
        return await self.list_all(VatCode)

    # --- sales orders and invoice bookings -------------------------------------------------

    async def find_sales_orders_by_reference(self, reference: str) -> list[SalesOrderHeader]:
        return await self._find_text(
            SalesOrderHeader, self.settings.order_reference_field, reference
        )

    async def create_sales_order(
        self, order: SalesOrder, *, book_date: date | datetime | None = None
    ) -> WriteResult[SalesOrderHeader]:
        when = book_date or order.header.ORD_DATE
        ref = order.header.value(self.settings.order_reference_field)
        return await self.write(
            "POST", order.header, order.lines, book_date=when, record_key=_norm(ref) or None
        )

    async def create_sales_order_once(
        self, order: SalesOrder, reference: str
    ) -> CreateResult[WriteResult[SalesOrderHeader]]:
        """Create the order unless one carrying ``reference`` exists (the source order id,
        written into ``order_reference_field``)."""
        header = order.header.model_copy(update={self.settings.order_reference_field: reference})
        if self.settings.order_reference_field not in type(header).model_fields:
            header = SalesOrderHeader.model_validate(
                {
                    **header.model_dump(exclude_none=True),
                    self.settings.order_reference_field: reference,
                }
            )
        order = SalesOrder(header=header, lines=order.lines)

        async def find() -> WriteResult[SalesOrderHeader] | None:
            hits = await self.find_sales_orders_by_reference(reference)
            return WriteResult(record=hits[0], tables={}) if hits else None

        return await create_once(
            lambda: self.create_sales_order(order),
            find,
            policy=self.settings.retry_policy(),
            clock=self.http.registry.clock,
        )

    async def find_sales_invoices_by_reference(self, reference: str) -> list[JournalPage]:
        return await self._find_text(
            JournalPage, self.settings.invoice_reference_field, reference, business_object="DJ2P"
        )

    async def create_sales_invoice(
        self, invoice: SalesInvoice, *, book_date: date | datetime | None = None
    ) -> WriteResult[JournalPage]:
        page = invoice.page
        if page.DJ_CODE is None and self.settings.sales_journal_code:
            page = page.model_copy(update={"DJ_CODE": self.settings.sales_journal_code})
        ref = page.value(self.settings.invoice_reference_field)
        return await self.write(
            "POST",
            page,
            invoice.lines,
            book_date=book_date or page.TRN_DATE,
            record_key=_norm(ref) or None,
        )

    async def create_sales_invoice_once(
        self, invoice: SalesInvoice, reference: str
    ) -> CreateResult[WriteResult[JournalPage]]:
        page = JournalPage.model_validate(
            {
                **invoice.page.model_dump(exclude_none=True),
                self.settings.invoice_reference_field: reference,
            }
        )
        invoice = SalesInvoice(page=page, lines=invoice.lines)

        async def find() -> WriteResult[JournalPage] | None:
            hits = await self.find_sales_invoices_by_reference(reference)
            return WriteResult(record=hits[0], tables={}) if hits else None

        return await create_once(
            lambda: self.create_sales_invoice(invoice),
            find,
            policy=self.settings.retry_policy(),
            clock=self.http.registry.clock,
        )
