"""``DebtorTarget`` over ``koppel.connectors``' AccountView client."""

from __future__ import annotations

from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Contact
from koppel.customers.adapters.ports import JSON


def _row(contact: Contact | None) -> JSON | None:
    return contact.model_dump(mode="json", exclude_none=True) if contact is not None else None


class AccountViewDebtors:
    def __init__(self, client: AccountViewClient) -> None:
        self.client = client

    async def find_by_email(self, email: str) -> JSON | None:
        return _row(await self.client.find_debtor_by_email(email))

    async def get(self, number: str) -> JSON | None:
        return _row(await self.client.get_debtor(number))

    async def create(self, fields: JSON) -> str:
        written = await self.client.create_debtor(Contact.model_validate(fields))
        number = (written.record.SUB_NR or "").strip() if written.record else ""
        if not number:  # AccountView numbered it but did not say: find it by its key
            found = await self.client.find_debtor_by_email(str(fields.get("MAIL_BUS") or ""))
            number = (found.SUB_NR or "").strip() if found else ""
        if not number:
            raise RuntimeError("AccountView accepted the debtor but its number cannot be found")
        return number

    async def update(self, fields: JSON) -> None:
        changes = {k: v for k, v in fields.items() if k != "SUB_NR"}
        await self.client.update_debtor(str(fields["SUB_NR"]), changes)
