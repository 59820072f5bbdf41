"""Seed dataset (determinism, shared SKU/EAN scheme, sizes) and one run on a real uvicorn."""

from __future__ import annotations

import time

import httpx

from koppel.sandbox.accountview import (
    AccountViewSandboxSettings,
    SeedSpec,
    create_app,
    seed_dataset,
)
from koppel.sandbox.common import ServerThread
from koppel.sandbox.common.seeding import is_valid_ean13, shared_catalog


def test_seed_is_deterministic_and_seed_dependent() -> None:
    assert seed_dataset(articles=50, debtors=10) == seed_dataset(articles=50, debtors=10)
    a = seed_dataset(SeedSpec(seed=1, articles=20))
    b = seed_dataset(SeedSpec(seed=2, articles=20))
    assert a["companies"][0]["Id"] != b["companies"][0]["Id"]
    assert a["companies"][0]["tables"]["CONTACT"] != b["companies"][0]["tables"]["CONTACT"]


def test_articles_follow_the_shared_catalogue() -> None:
    data = seed_dataset(articles=100)
    arts = {a["ART_CODE"]: a for a in data["companies"][0]["tables"]["ARTICLE"]}
    catalog = shared_catalog(42, 100)
    for item in catalog:
        art = arts[item.sku]
        assert art["ART_DESC1"] == item.name
        assert art["BAR_CODE"] == item.ean
        assert art["PX_SELL"] == item.net_price
        assert art["REC_BLK"] is (not item.active)
        assert art["VAT_CODE"] == ("09" if item.vat_class == "low" else "21")
        assert is_valid_ean13(art["BAR_CODE"])
    assert not any(code.startswith("UNKNOWN-") for code in arts)
    assert any(a["REC_BLK"] for a in arts.values())
    assert len(arts) == 102  # plus VERZEND and BETAALKOST


def test_shared_emails_and_ean_field_name() -> None:
    data = seed_dataset(
        SeedSpec(debtors=3, shared_emails=["a@x.example", "b@x.example"]), ean_field="EAN_CODE"
    )
    mails = [c["MAIL_BUS"] for c in data["companies"][0]["tables"]["CONTACT"]]
    assert mails[:2] == ["a@x.example", "b@x.example"]
    assert len(mails) == 3
    assert "EAN_CODE" in data["companies"][0]["tables"]["ARTICLE"][0]


def test_large_seed_is_fast() -> None:
    started = time.perf_counter()
    data = seed_dataset(articles=5000, debtors=500)
    elapsed = time.perf_counter() - started
    assert len(data["companies"][0]["tables"]["ARTICLE"]) == 5002
    print(f"seed_dataset(articles=5000, debtors=500): {elapsed:.3f} s")


def test_real_uvicorn_on_random_port() -> None:
    started = time.perf_counter()
    app = create_app(AccountViewSandboxSettings(seed=SeedSpec(articles=5000)))
    with ServerThread(app) as server:
        print(
            f"create_app + uvicorn start with 5000 articles: {time.perf_counter() - started:.3f} s"
        )
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            tok = http.post("/_sandbox/tokens").json()
            h = {"Authorization": f"Bearer {tok['access_token']}"}
            company = http.get("/api/v3/companies", headers=h).json()[0]["Id"]
            h["x-company"] = company
            r = http.get(
                "/api/v3/accountviewdata",
                params={"BusinessObject": "AK1", "PageSize": 1000, "PageNumber": 6},
                headers=h,
            )
            assert r.status_code == 200
            assert len(r.json()["ARTICLE"]) == 2
            assert http.post("/_sandbox/faults", json={"drop": 1.0}).status_code == 200
            try:
                http.get("/api/v3/companies", headers=h)
                raise AssertionError("expected a dropped connection")
            except httpx.TransportError:
                pass
