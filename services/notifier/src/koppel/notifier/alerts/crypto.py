"""Channel secrets at rest (SMTP passwords, webhook signing secrets).

``KOPPEL_ENCRYPTION_KEYS`` is the platform's comma-separated list of Fernet keys (newest
first), the same variable the gateway reads; the notifier keeps its own small box instead of
importing the gateway (services never import each other). Without the variable, development
and test installs get a key file in ``data_dir`` so an embedded install survives restarts;
production refuses to store or read a secret without configured keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from koppel.notifier.config import NotifierSettings

KEY_FILE = "notifier-alert-secrets.key"


class SecretBoxError(Exception):
    """No usable key, or a ciphertext none of the keys opens. Never carries the secret."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretBoxError("no encryption key configured")
        try:
            self._multi = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise SecretBoxError("an encryption key is not a valid Fernet key") from exc
        self._newest = Fernet(keys[0].encode())

    def encrypt(self, plaintext: str) -> str:
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._multi.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("a channel secret cannot be decrypted with the keys") from exc

    def is_current(self, ciphertext: str) -> bool:
        """True when the newest key already opens ``ciphertext`` (nothing to rotate)."""
        try:
            self._newest.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: str) -> str:
        try:
            return self._multi.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("a channel secret cannot be decrypted with the keys") from exc


def _dev_key(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def secret_box(settings: NotifierSettings) -> SecretBox:
    if settings.encryption_keys is not None:
        raw = settings.encryption_keys.get_secret_value()
        return SecretBox([part.strip() for part in raw.split(",") if part.strip()])
    if settings.environment == "production":
        raise SecretBoxError("KOPPEL_ENCRYPTION_KEYS must be set to store channel secrets")
    return SecretBox([_dev_key(settings.data_dir)])
