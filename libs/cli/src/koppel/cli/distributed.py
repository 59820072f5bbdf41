"""``koppel serve``, ``koppel migrate`` and ``koppel rotate-key``: the distributed mode."""

from __future__ import annotations

import uvicorn

from koppel.cli.services import service_module


async def run_service(name: str, *, host: str, port: int) -> None:
    """One service in this process; RabbitMQ and PostgreSQL come from the environment."""
    app = service_module(name).create_app()
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")
    await uvicorn.Server(config).serve()


async def migrate_services(names: list[str]) -> None:
    from koppel.common.migrations import migrate

    for name in names:
        spec = service_module(name).SPEC
        await migrate(spec)


async def rotate_encryption_key() -> int:
    """Re-encrypt every stored secret with the newest key: the gateway's (credentials, tokens,
    webhook secrets) and the notifier's (alert channels); returns how many were rewritten."""
    from koppel.gateway.rotation import rotate_encryption_key
    from koppel.notifier.alerts.rotation import rotate_channel_secrets

    return await rotate_encryption_key() + await rotate_channel_secrets()
