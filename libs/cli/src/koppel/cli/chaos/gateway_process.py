"""Stand-in for ``koppel serve gateway`` while that command cannot start the gateway.

``koppel.cli.distributed.run_service`` calls ``create_app()`` without arguments, but
``koppel.gateway.app.create_app`` requires ``bus=`` (and the module names its spec ``spec``,
not ``SPEC``, which breaks ``koppel migrate``). The chaos run reports both defects and starts
the gateway through this module instead: same app, same settings, the bus the environment
asks for. Delete this once ``koppel serve gateway`` works (the runner prefers it then).
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn


async def main(host: str, port: int) -> None:
    from koppel.common.runtime import build_bus
    from koppel.gateway.app import create_app
    from koppel.gateway.config import GatewaySettings

    settings = GatewaySettings()
    app = create_app(bus=build_bus(settings, service="gateway"), settings=settings)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    ns = parser.parse_args()
    asyncio.run(main(ns.host, ns.port))
