"""The two ways an alert leaves Koppel: e-mail over SMTP and a signed webhook.

Webhook signature: ``X-Koppel-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``X-Koppel-Timestamp: <unix seconds>``; receivers recompute it over the raw body and
refuse timestamps outside their replay window (``verify_signature`` does both).
Errors say whether retrying can help and never include a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

TIMESTAMP_HEADER = "X-Koppel-Timestamp"
SIGNATURE_HEADER = "X-Koppel-Signature"
DELIVERY_HEADER = "X-Koppel-Delivery"
RETRYABLE_STATUS = frozenset({408, 425, 429})


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    if age > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # none | starttls | tls
    username: str | None
    password: str | None
    sender: str
    timeout: float


async def send_email(
    server: SmtpServer, recipients: list[str], subject: str, text: str, headers: dict[str, str]
) -> None:
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    for name, value in headers.items():
        message[name] = value
    message.set_content(text)
    options: dict[str, Any] = {
        "hostname": server.host,
        "port": server.port,
        "timeout": server.timeout,
        "use_tls": server.security == "tls",
        "start_tls": server.security == "starttls",
    }
    if server.username:
        options["username"] = server.username
        options["password"] = server.password or ""
    try:
        await aiosmtplib.send(message, **options)
    except aiosmtplib.SMTPAuthenticationError:
        raise DeliveryError("the SMTP server refused the login", retryable=False) from None
    except aiosmtplib.SMTPRecipientsRefused:
        raise DeliveryError("the SMTP server refused the recipients", retryable=False) from None
    except aiosmtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.code < 600
        raise DeliveryError(f"SMTP answered {exc.code}", retryable=not permanent) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP server not reachable ({type(exc).__name__})") from None


async def send_webhook(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    body: bytes,
    *,
    delivery_id: int,
    timestamp: int | None = None,
) -> int:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
        DELIVERY_HEADER: str(delivery_id),
        "User-Agent": "Koppel-Alerts/1",
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        # The URL is not repeated: it may carry a token of the receiver's.
        raise DeliveryError(f"webhook not reachable ({type(exc).__name__})") from None
    if 200 <= response.status_code < 300:
        return response.status_code
    retryable = response.status_code >= 500 or response.status_code in RETRYABLE_STATUS
    raise DeliveryError(f"webhook answered {response.status_code}", retryable=retryable)
