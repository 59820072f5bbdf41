"""``ArticleSource`` over ``koppel.connectors``' AccountView client.

Rows are handed on as JSON (the connector's ``Article`` model dumped with every field it
received), so ``ProductFetched.source`` shows the article as AccountView sent it.
"""

from __future__ import annotations

from datetime import datetime

from koppel.catalog.adapters.ports import JSON
from koppel.connectors.accountview.client import AccountViewClient
from koppel.connectors.accountview.models import Article


def _row(article: Article) -> JSON:
    return article.model_dump(mode="json")


class AccountViewArticleSource:
    def __init__(self, client: AccountViewClient, *, page_size: int = 500) -> None:
        self.client = client
        self.page_size = page_size

    async def articles(self, *, changed_since: datetime | None) -> list[JSON]:
        rows: list[JSON] = []
        async for page in self.client.iter_articles(changed_since, page_size=self.page_size):
            rows.extend(_row(a) for a in page)
        return rows

    async def article(self, code: str) -> JSON | None:
        found = await self.client.get_article(code)
        return _row(found) if found is not None else None
