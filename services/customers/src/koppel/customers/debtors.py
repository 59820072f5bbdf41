"""What to do with a customer in AccountView (pure rules, no I/O).

* Default debtor on: every order is booked on the configured debtor; nothing is created.
* A company name makes a company debtor (``ACCT_NAME`` = company) with its contact person
  (``MAIN_CONT``/``MC_MAILB``); none makes a person debtor (``ACCT_NAME`` = the person).
* Found by e-mail: with ``update_existing`` the changed fields are written (PUT), without
  it the debtor is used as it is. Not found: created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from koppel.customers.matching import EmailCheck

JSON = dict[str, Any]

# Fields AccountView keeps itself (audit, computed) or that identify the row: never compared.
_NOT_COMPARED = frozenset(
    {
        "SUB_NR",
        "INP_DATE",
        "INP_USR",
        "CNG_DATE",
        "CNG_USR",
        "CNG_NR",
        "SYNC_STATE",
        "ACCT_BAL",
        "AMT_REC",
        "SALE_AMT",
        "SALE_PY",
        "TRANS_NR",
        "CRED_BAL",
        "EXT_KEY",
        "CONTACT_Id",
        "REC_ID",
    }
)
# CONTACT fields AccountView upper-cases (``!`` in its data dictionary).
_UPPER = frozenset(
    {
        "SUB_NR",
        "ACCT_NR",
        "SRC_CODE",
        "POST_CODE",
        "CNT_CODE",
        "MAIN_PP",
        "VAT_NR",
        "VAT_CODE",
        "DISC_CODE",
    }
)
# Length limits of the CONTACT fields we write (C-field widths from the data dictionary).
_WIDTH = {
    "ACCT_NAME": 40,
    "SRC_CODE": 10,
    "ADDRESS1": 80,
    "POST_CODE": 10,
    "CITY": 35,
    "CNT_CODE": 2,
    "MAIL_BUS": 50,
    "TEL_BUS": 20,
    "MAIN_CONT": 40,
    "MC_MAILB": 50,
    "VAT_NR": 14,
    "VAT_CODE": 2,
    "DISC_CODE": 2,
    "ACCT_NR": 10,
}


class Outcome(StrEnum):
    default_debtor = "default_debtor"
    create = "create"
    update = "update"
    unchanged = "unchanged"
    fail = "fail"


@dataclass(frozen=True)
class Plan:
    outcome: Outcome
    debtor_number: str | None = None
    fields: JSON = field(default_factory=dict)  # what to POST (create) or PUT (update)
    reason_code: str = ""
    reason: str = ""


def _clean(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if name in _UPPER:
        text = text.upper()
    width = _WIDTH.get(name)
    return text[:width] if width else text


def shape_debtor(mapped: Mapping[str, Any], email: str, source: Mapping[str, Any]) -> JSON:
    """The debtor fields to write, from the mapper's debtor and the eAccounting customer.

    The company/person rule is applied here, whatever the mapping did, because it decides
    who the debtor *is*: the eAccounting ``IsPrivatePerson`` flag when we have the customer,
    else what the mapping says (a contact person or a company name means a company).
    """
    debtor = {
        k: _clean(k, v) for k, v in mapped.items() if v is not None and k not in _NOT_COMPARED
    }
    debtor["MAIL_BUS"] = email
    company_name = str(debtor.pop("COMPANY_NAME", "") or "").strip()
    if source and "IsPrivatePerson" in source:
        company = not source.get("IsPrivatePerson")
    else:
        company = bool(company_name or mapped.get("MAIN_CONT"))
    if company:
        name = company_name or str(mapped.get("ACCT_NAME") or source.get("Name") or "").strip()
        contact = str(mapped.get("MAIN_CONT") or source.get("ContactPersonName") or "").strip()
        debtor["ACCT_NAME"] = _clean("ACCT_NAME", name or email)
        if contact:
            contact_mail = mapped.get("MC_MAILB") or source.get("ContactPersonEmail") or email
            debtor["MAIN_CONT"] = _clean("MAIN_CONT", contact)
            debtor["MC_MAILB"] = _clean("MC_MAILB", str(contact_mail).strip().lower())
    else:
        debtor.pop("MAIN_CONT", None)
        debtor.pop("MC_MAILB", None)
        name = str(mapped.get("ACCT_NAME") or source.get("Name") or email).strip()
        debtor["ACCT_NAME"] = _clean("ACCT_NAME", name)
    debtor.setdefault("SRC_CODE", _clean("SRC_CODE", _search_code(debtor["ACCT_NAME"])))
    return debtor


def _search_code(name: str) -> str:
    letters = "".join(ch for ch in name.upper() if ch.isalnum())
    return letters[:10] or "-"


def is_company(debtor: Mapping[str, Any]) -> bool:
    return bool(debtor.get("MAIN_CONT"))


def changed_fields(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> JSON:
    """Fields of ``wanted`` whose value differs from the existing debtor's (normalised)."""
    changed: JSON = {}
    for name, value in wanted.items():
        if name in _NOT_COMPARED:
            continue
        if _comparable(name, existing.get(name)) != _comparable(name, value):
            changed[name] = value
    return changed


def _comparable(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        if name in ("MAIL_BUS", "MC_MAILB"):
            return text.lower()
        return text.upper() if name in _UPPER else text
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plan(
    *,
    email: EmailCheck,
    wanted: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    update_existing: bool,
    default_debtor: str | None,
) -> Plan:
    if default_debtor:
        return Plan(Outcome.default_debtor, default_debtor)
    if not email.ok:
        return Plan(Outcome.fail, reason_code=email.problem or "invalid_email", reason=email.reason)
    if existing is None:
        return Plan(Outcome.create, fields=dict(wanted))
    number = str(existing.get("SUB_NR") or "").strip()
    if not update_existing:
        return Plan(Outcome.unchanged, number)
    changes = changed_fields(existing, wanted)
    if not changes:
        return Plan(Outcome.unchanged, number)
    return Plan(Outcome.update, number, fields={"SUB_NR": number, **changes})
