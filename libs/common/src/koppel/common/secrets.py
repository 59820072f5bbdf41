"""Secrets at rest, for every service that keeps one (the gateway's credentials and tokens,
the notifier's alert-channel secrets).

``KOPPEL_ENCRYPTION_KEYS`` is a comma-separated list of Fernet keys. The first one encrypts,
every one decrypts, so rotating means: put a new key in front, run ``koppel rotate-key``
(which re-encrypts each stored value with :meth:`SecretBox.rotate`), then drop the old key.
Fernet (AES-128-CBC + HMAC-SHA256) is authenticated, so a tampered or foreign ciphertext is
refused instead of decrypting to garbage.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(Exception):
    """A key list that cannot be used, or a ciphertext none of the keys opens."""


def generate_encryption_key() -> str:
    """A fresh key for ``KOPPEL_ENCRYPTION_KEYS`` (the CLI prints one for new installs)."""
    return Fernet.generate_key().decode()


def parse_keys(raw: str) -> list[str]:
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise SecretBoxError("KOPPEL_ENCRYPTION_KEYS holds no key")
    return keys


class SecretBox:
    """Encrypts with the newest key, decrypts with any configured key."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretBoxError("at least one encryption key is needed")
        try:
            self._fernets = [Fernet(key.encode()) for key in keys]
        except ValueError as exc:
            # The message never includes the key itself.
            raise SecretBoxError(
                "an encryption key is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from exc
        self._multi = MultiFernet(self._fernets)
        self._newest = self._fernets[0]

    @classmethod
    def from_env_value(cls, raw: str) -> SecretBox:
        return cls(parse_keys(raw))

    def encrypt(self, plaintext: str) -> str:
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._multi.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from exc

    def encrypt_optional(self, plaintext: str | None) -> str | None:
        return None if plaintext is None else self.encrypt(plaintext)

    def decrypt_optional(self, ciphertext: str | None) -> str | None:
        return None if ciphertext is None else self.decrypt(ciphertext)

    def is_current(self, ciphertext: str) -> bool:
        """True when the newest key already opens ``ciphertext`` (nothing to rotate)."""
        try:
            self._newest.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: str) -> str:
        """The same secret, encrypted with the newest key."""
        try:
            return self._multi.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from exc
