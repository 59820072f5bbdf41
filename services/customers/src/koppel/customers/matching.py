"""Matching customers to debtors by e-mail (pure rules).

The e-mail is the key: AccountView debtors are found through ``MAIL_BUS`` and our link
table is keyed on (tenant, normalised e-mail). FoxPro compares character fields case- and
padding-sensitively, so both sides are normalised the same way before any comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# AccountView ``MAIL_BUS`` is C50: a longer address cannot be stored, so it cannot match.
MAIL_BUS_LENGTH = 50

# Deliberately plain: one @, a dotted domain, no spaces. Full RFC 5322 would accept
# addresses no mail server or bookkeeper would, and reject nothing that matters here.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}$")


def normalise_email(value: object) -> str:
    return str(value or "").strip().lower()


@dataclass(frozen=True)
class EmailCheck:
    email: str
    problem: str | None = None  # reason code when the e-mail cannot be used
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_email(value: object) -> EmailCheck:
    email = normalise_email(value)
    if not email:
        return EmailCheck(
            email,
            "missing_email",
            "The customer has no e-mail address, so it cannot be matched to a debtor.",
        )
    if not _EMAIL.match(email) or ".." in email:
        return EmailCheck(
            email,
            "invalid_email",
            f"The customer's e-mail address {email!r} is not a valid e-mail address.",
        )
    if len(email) > MAIL_BUS_LENGTH:
        return EmailCheck(
            email,
            "invalid_email",
            f"The customer's e-mail address is longer than the {MAIL_BUS_LENGTH} characters AccountView can store.",
        )
    return EmailCheck(email)
