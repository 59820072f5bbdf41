"""The OpenAPI document: every gateway route has a summary and a description, and documents
its errors as problem+json."""

from __future__ import annotations

from .conftest import Harness


async def test_every_route_is_documented(h: Harness) -> None:
    document = (await h.client.get("/openapi.json")).json()
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        if path.startswith(("/v1", "/internal/tenants"))
        for method, op in item.items()
    ]
    assert len(operations) >= 30
    for path, method, op in operations:
        assert op.get("summary"), (method, path)
        assert op.get("description"), (method, path)
        errors = [code for code in op["responses"] if code.startswith(("4", "5"))]
        assert errors, (method, path)
        for code in errors:
            content = op["responses"][code].get("content", {})
            assert "application/problem+json" in content or code == "422", (method, path, code)
    bodies = [op for _, _, op in operations if "requestBody" in op]
    schemas = document["components"]["schemas"]
    for op in bodies:
        media = next(iter(op["requestBody"]["content"].values()))
        ref = media.get("schema", {}).get("$ref", "")
        schema = schemas.get(ref.rsplit("/", 1)[-1], media.get("schema", {}))
        assert media.get("examples") or media.get("example") or schema.get("examples"), op[
            "summary"
        ]
