"""``koppel sandbox ...``: the two API sandboxes as standalone servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _faults(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    loaded = json.loads(path.read_text())
    if not isinstance(loaded, dict):
        raise SystemExit(f"{path}: expected a JSON object of fault shares")
    return loaded


def serve_eaccounting(
    *,
    host: str,
    port: int,
    seed: int,
    empty: bool,
    client_id: str,
    client_secret: str,
    faults: Path | None,
) -> None:
    from koppel.sandbox.common.faults import FaultConfig
    from koppel.sandbox.eaccounting.app import serve
    from koppel.sandbox.eaccounting.settings import EAccountingSandboxSettings

    fault_config = _faults(faults)
    settings = EAccountingSandboxSettings(
        client_id=client_id,
        client_secret=client_secret,
        seed=seed,
        empty=empty,
        faults=FaultConfig.model_validate(fault_config or {}),
    )
    serve(settings, host, port)


def serve_accountview(
    *,
    host: str,
    port: int,
    seed: int,
    empty: bool,
    client_id: str,
    client_secret: str,
    faults: Path | None,
) -> None:
    from koppel.sandbox.accountview.app import serve
    from koppel.sandbox.accountview.settings import AccountViewSandboxSettings, SeedSpec

    settings = AccountViewSandboxSettings(
        client_id=client_id,
        client_secret=client_secret,
        seed=SeedSpec(seed=seed, empty=empty),
        faults=_faults(faults),
    )
    serve(settings, host, port)
