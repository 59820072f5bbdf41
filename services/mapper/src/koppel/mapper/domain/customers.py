"""Default mapping: eAccounting customer (CustomerApi) → AccountView debtor (CONTACT).

A customer that is not a private person becomes a company debtor with its contact person
(``MAIN_CONT``, ``MC_MAILB``); a private person becomes a person debtor. The e-mail is the
key the customers service matches on, so it is normalised (trim, lower case) here.
"""

from __future__ import annotations

import re
from typing import Any

from koppel.mapper.domain.addresses import normalise_email, normalise_postcode, split_street
from koppel.mapper.domain.countries import EU_MEMBERS, country_name
from koppel.mapper.domain.errors import InvalidValue
from koppel.mapper.domain.lineage import Lineage
from koppel.mapper.domain.settings import CustomerSettings
from koppel.mapper.domain.transforms import EvalContext, t_email, t_vat_number
from koppel.mapper.domain.valuemaps import ValueMaps

_SEARCH = re.compile(r"[^0-9A-Za-z]+")


def search_code(name: str) -> str:
    """SRC_CODE (C10, uppercase, mandatory): the name's letters and digits, or '-'."""
    return _SEARCH.sub("", name).upper()[:10] or "-"


def customer_label(source: dict[str, Any]) -> str:
    name = source.get("Name") or source.get("CustomerNumber") or source.get("Id") or "?"
    return f"Customer '{name}'"


def debtor_vat_code(maps: ValueMaps, country: str, record: str) -> str | None:
    """The debtor's default VAT code, when the tenant maps countries (keys without a rate)."""
    if not maps.map("vat_codes").has_plain_keys:
        return None
    return str(maps.lookup("vat_codes", country, record=record))


def vat_number(ctx: EvalContext, raw: Any, country: str) -> str | None:
    """EU VAT numbers are validated (python-stdnum); others pass through, compacted."""
    text = str(raw or "").replace(" ", "").replace(".", "").upper()
    if not text:
        return None
    prefix = text[:2] if text[:2].isalpha() else country
    if prefix in EU_MEMBERS or prefix == "EL":
        return t_vat_number(ctx, text if text[:2].isalpha() else prefix + text)
    return text


def map_customer(
    source: dict[str, Any],
    *,
    settings: CustomerSettings,
    maps: ValueMaps,
    ctx: EvalContext,
    lineage: Lineage | None = None,
    prefix: str = "CONTACT",
    rename: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``rename`` relabels lineage sources when the customer was built from another record
    (an order's invoice fields, or the customer the poller put into the enrichment)."""
    record = ctx.record
    name = str(source.get("Name") or "").strip()
    country = str(source.get("InvoiceCountryCode") or settings.default_country).strip().upper()
    email = normalise_email(source.get("EmailAddress")) or normalise_email(
        source.get("ContactPersonEmail")
    )
    if email:
        email = t_email(ctx, email)
    is_company = not source.get("IsPrivatePerson", False)
    line1 = str(source.get("InvoiceAddress1") or "")
    line2 = str(source.get("InvoiceAddress2") or "").strip()
    street = split_street(line1)
    contact: dict[str, Any] = {
        "ACCT_NR": settings.collective_account,
        "ACCT_NAME": name,
        "SRC_CODE": search_code(name),
        "MAIL_BUS": email or None,
        "ADDRESS1": f"{line1.strip()}, {line2}" if line2 else line1.strip(),
        "ST_STREET": street.street,
        "ST_NR": street.number,
        "ST_EXTRA": street.addition,
        "POST_CODE": normalise_postcode(source.get("InvoicePostalCode"), country),
        "CITY": str(source.get("InvoiceCity") or "").strip(),
        "CNT_CODE": country,
        "COUNTRY": country_name(country, "nl") or country,
        "TEL_BUS": source.get("Telephone") or None,
        "TEL_MOB": source.get("MobilePhone") or None,
        "WWW_URL": source.get("WwwAddress") or None,
        "CUR_CODE": source.get("CurrencyCode") or None,
        "COC_CODE": source.get("CorporateIdentityNumber") or None,
    }
    if not name:
        raise InvalidValue(f"{record}: the customer has no name, and AccountView requires one")
    if is_company and source.get("ContactPersonName"):
        contact["MAIN_CONT"] = str(source["ContactPersonName"]).strip()
        contact["MC_MAILB"] = t_email(ctx, source.get("ContactPersonEmail")) or None
    contact["VAT_NR"] = vat_number(ctx, source.get("VatNumber"), country)
    terms_key = str(source.get("TermsOfPaymentId") or "")
    terms_name = (
        str((source.get("TermsOfPayment") or {}).get("Name") or "")
        if isinstance(source.get("TermsOfPayment"), dict)
        else ""
    )
    contact["DISC_CODE"] = maps.lookup_optional(
        "terms_of_payment", terms_key or terms_name, record=record, fallbacks=(terms_name,)
    )
    if settings.map_vat_code:
        contact["VAT_CODE"] = debtor_vat_code(maps, country, record)
    if settings.revenue_account_field:
        contact[settings.revenue_account_field] = maps.lookup(
            "revenue_accounts", country, record=record
        )
    if lineage is not None:
        _customer_lineage(lineage, prefix, is_company, rename or {})
    return contact


def _customer_lineage(
    lineage: Lineage, prefix: str, is_company: bool, rename: dict[str, str]
) -> None:
    def add(target: str, sources: list[str], transforms: list[str] | None = None) -> None:
        renamed = [rename.get(s, s) for s in sources]
        lineage.add(target, [s for s in renamed if s], transforms or [])

    add(f"{prefix}.ACCT_NR", [], ["settings.collective_account"])
    add(f"{prefix}.ACCT_NAME", ["source.Name"], ["trim"])
    add(f"{prefix}.SRC_CODE", ["source.Name"], ["search_code"])
    add(f"{prefix}.MAIL_BUS", ["source.EmailAddress", "source.ContactPersonEmail"], ["email"])
    add(f"{prefix}.ADDRESS1", ["source.InvoiceAddress1", "source.InvoiceAddress2"], ["join"])
    for column, part in (("ST_STREET", "street"), ("ST_NR", "number"), ("ST_EXTRA", "addition")):
        add(f"{prefix}.{column}", ["source.InvoiceAddress1"], [f"split_street:{part}"])
    add(
        f"{prefix}.POST_CODE",
        ["source.InvoicePostalCode", "source.InvoiceCountryCode"],
        ["postcode"],
    )
    add(f"{prefix}.CITY", ["source.InvoiceCity"], ["trim"])
    add(f"{prefix}.CNT_CODE", ["source.InvoiceCountryCode"], ["default:settings.default_country"])
    add(f"{prefix}.COUNTRY", ["source.InvoiceCountryCode"], ["country_name"])
    add(f"{prefix}.TEL_BUS", ["source.Telephone"])
    add(f"{prefix}.TEL_MOB", ["source.MobilePhone"])
    add(f"{prefix}.WWW_URL", ["source.WwwAddress"])
    add(f"{prefix}.CUR_CODE", ["source.CurrencyCode"])
    add(f"{prefix}.COC_CODE", ["source.CorporateIdentityNumber"])
    if is_company:
        add(f"{prefix}.MAIN_CONT", ["source.ContactPersonName"], ["trim"])
        add(f"{prefix}.MC_MAILB", ["source.ContactPersonEmail"], ["email"])
    add(f"{prefix}.VAT_NR", ["source.VatNumber", "source.InvoiceCountryCode"], ["vat_number"])
    add(
        f"{prefix}.DISC_CODE",
        ["source.TermsOfPaymentId", "source.TermsOfPayment.Name"],
        ["lookup:terms_of_payment"],
    )
    add(f"{prefix}.VAT_CODE", ["source.InvoiceCountryCode"], ["lookup:vat_codes"])
