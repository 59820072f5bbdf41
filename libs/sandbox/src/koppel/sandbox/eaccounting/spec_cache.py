"""Regenerate ``spec/eaccounting-v2-openapi.json`` from the vendored YAML (needs PyYAML).

Run ``python -m koppel.sandbox.eaccounting.spec_cache``. The JSON copy exists only because
parsing JSON is an order of magnitude faster than YAML at app start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).parent / "spec"
YAML_PATH = SPEC_DIR / "eaccounting-v2-openapi.yaml"
JSON_PATH = SPEC_DIR / "eaccounting-v2-openapi.json"


def load_yaml() -> dict[str, Any]:
    import yaml  # dev/test dependency only

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with YAML_PATH.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - safe loader
    return data


def write_json() -> Path:
    JSON_PATH.write_text(json.dumps(load_yaml(), separators=(",", ":"), ensure_ascii=False) + "\n")
    return JSON_PATH


if __name__ == "__main__":
    print(write_json())  # noqa: T201
