"""The ports the catalog service talks through.

The use cases only know these protocols. The real implementations (``accountview``,
``eaccounting``) sit on ``koppel.connectors``' clients, which tests point at the in-process
sandboxes. Which tenant's connection to use is the ``CatalogPorts`` factory's business, as in
the orders and customers services: in distributed mode it asks the gateway for tokens and
settings, embedded and in tests it is handed ready clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

JSON = dict[str, Any]


class ArticleSource(Protocol):
    """AccountView articles (AK1), as raw JSON rows."""

    async def articles(self, *, changed_since: datetime | None) -> list[JSON]:
        """Every article with ``CNG_DATE`` on or after ``changed_since`` (all when None)."""
        ...

    async def article(self, code: str) -> JSON | None: ...


class ArticleTarget(Protocol):
    """eAccounting articles."""

    async def find(self, *, number: str, ean: str | None) -> JSON | None:
        """The article with this ``Number`` (or, when ``ean`` is given and no number matches,
        the one carrying that barcode)."""
        ...

    async def get(self, article_id: str) -> JSON | None: ...

    async def create(self, body: JSON) -> tuple[JSON, bool]:
        """POST unless an article with the same ``Number`` exists; (article, created)."""
        ...

    async def replace(self, article_id: str, body: JSON) -> JSON:
        """Full-replace PUT of the whole article."""
        ...

    def forget_index(self) -> None:
        """Drop what is known about existing articles (a new run starts)."""
        ...


class CatalogPorts(Protocol):
    async def source(self, tenant_id: str) -> ArticleSource: ...

    async def target(self, tenant_id: str) -> ArticleTarget: ...

    async def settings(self, tenant_id: str, flow: str) -> JSON: ...
