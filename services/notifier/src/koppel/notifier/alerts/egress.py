"""Where alert webhooks may go: public addresses only, unless the operator allows more.

A webhook URL is typed in by a tenant, and the notifier runs inside the platform's network:
without a check, a tenant could make it POST to the cloud's metadata endpoint, the database's
admin port or another tenant's internal service (server-side request forgery). So both when a
channel is saved and before every delivery, the host is resolved and each address it resolves
to must be globally routable (``ipaddress``'s ``is_global``). ``KOPPEL_ALERT_WEBHOOK_ALLOW_PRIVATE``
lifts the rule for deployments whose receivers live on a private network (and for tests).

Checking before the delivery narrows, but does not close, the DNS-rebinding window between
the check and httpx's own lookup; an egress proxy or NetworkPolicy is the complete answer
(deploy/k8s limits the notifier's egress).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class DestinationRefused(Exception):
    """The URL points somewhere alerts may not go; the message says why (no secrets in it)."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable


async def check_destination(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("the webhook URL needs an http(s) scheme and a host")
    if allow_private:
        return
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise DestinationRefused(
                f"the webhook host {host} could not be resolved", retryable=True
            ) from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    refused = sorted({str(a) for a in addresses if not a.is_global})
    if refused:
        raise DestinationRefused(
            f"the webhook host {host} resolves to a non-public address ({', '.join(refused)}); "
            "alerts only go to public addresses unless KOPPEL_ALERT_WEBHOOK_ALLOW_PRIVATE is set"
        )
