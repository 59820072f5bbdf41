"""``ArticleTarget`` over ``koppel.connectors``' eAccounting client.

Requests go through the client's HTTP core, so the per-tenant × endpoint token bucket, the
retries and the typed errors apply; bodies stay raw JSON because a PUT is a full replace and
must send back every property eAccounting has, known to the connector's model or not.

Finding existing articles: instead of one ``$filter=Number eq ...`` request per article
(a second request per create, and a scan per request on the server), the target reads the
tenant's article list once per run (``$pagesize=1000``) into an index Number/barcode → Id.
Creating stays safe without a fresh per-article check: the index learns every article this
process creates, and a ``Number`` that exists after all (another replica, or a create whose
answer was lost before a crash) is refused by eAccounting as a duplicate, after which the
article is looked up by number and used (``create_once``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from koppel.catalog.adapters.ports import JSON
from koppel.connectors.common.errors import NotFoundError
from koppel.connectors.common.idempotency import create_once
from koppel.connectors.eaccounting import filters as f
from koppel.connectors.eaccounting.client import EAccountingClient

INDEX_PAGE_SIZE = 1000


@dataclass
class _Index:
    numbers: dict[str, str] = field(default_factory=dict)
    barcodes: dict[str, str] = field(default_factory=dict)

    def learn(self, article: JSON) -> None:
        article_id = str(article.get("Id") or "")
        if not article_id:
            return
        if article.get("Number"):
            self.numbers[str(article["Number"])] = article_id
        for code in article.get("Barcodes") or []:
            if code.get("Barcode"):
                self.barcodes[str(code["Barcode"])] = article_id


class EAccountingArticleTarget:
    def __init__(self, client: EAccountingClient) -> None:
        self.client = client
        self._index: _Index | None = None
        self._lock = asyncio.Lock()
        self.index_reads = 0

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.client.http.request(method, path, **kw)
        return response.json() if response.content else None

    def forget_index(self) -> None:
        self._index = None

    async def index(self) -> _Index:
        if self._index is not None:
            return self._index
        async with self._lock:
            if self._index is None:
                built, page = _Index(), 1
                while True:
                    raw = await self._json(
                        "GET", "/articles", params={"$page": page, "$pagesize": INDEX_PAGE_SIZE}
                    )
                    self.index_reads += 1
                    for article in raw.get("Data") or []:
                        built.learn(article)
                    pages = int((raw.get("Meta") or {}).get("TotalNumberOfPages") or 0)
                    if page >= pages or not raw.get("Data"):
                        break
                    page += 1
                self._index = built
            return self._index

    async def find(self, *, number: str, ean: str | None) -> JSON | None:
        index = await self.index()
        article_id = index.numbers.get(number) or (index.barcodes.get(ean) if ean else None)
        if article_id is None:
            return None
        found = await self.get(article_id)
        if found is None:  # gone since the index was read: read it afresh next time
            self.forget_index()
        return found

    async def _by_number(self, number: str) -> JSON | None:
        raw = await self._json(
            "GET", "/articles", params={"$filter": f.eq("Number", number), "$pagesize": 2}
        )
        hits = [a for a in raw.get("Data") or [] if a.get("Number") == number]
        return hits[0] if hits else None

    async def get(self, article_id: str) -> JSON | None:
        try:
            data = await self._json("GET", f"/articles/{article_id}", record_key=article_id)
        except NotFoundError:
            return None
        return dict(data) if isinstance(data, dict) else None

    async def create(self, body: JSON) -> tuple[JSON, bool]:
        number = str(body["Number"])

        async def post() -> JSON:
            data = await self._json("POST", "/articles", json=body, record_key=number)
            return dict(data)

        result = await create_once(
            post,
            lambda: self._by_number(number),
            policy=self.client.settings.retry_policy(),
            clock=self.client.http.registry.clock,
            check_first=False,
        )
        if self._index is not None:
            self._index.learn(result.record)
        return result.record, result.created

    async def replace(self, article_id: str, body: JSON) -> JSON:
        # A full replace is idempotent, so it may be retried after an ambiguous failure.
        data = await self._json(
            "PUT", f"/articles/{article_id}", json=body, record_key=article_id, safe=True
        )
        return dict(data) if isinstance(data, dict) else body
