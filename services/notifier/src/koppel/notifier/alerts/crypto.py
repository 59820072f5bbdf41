"""Channel secrets at rest (SMTP passwords, webhook signing secrets).

``KOPPEL_ENCRYPTION_KEYS`` is the platform's comma-separated list of Fernet keys (newest
first), the same variable the gateway reads; the notifier keeps its own small box instead of
importing the gateway (services never import each other), built on the platform's shared
:class:`koppel.common.secrets.SecretBox`. Without the variable, development
and test installs get a key file in ``data_dir`` so an embedded install survives restarts;
production refuses to store or read a secret without configured keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet

from koppel.common.secrets import SecretBox, SecretBoxError, parse_keys
from koppel.notifier.config import NotifierSettings

__all__ = ["SecretBox", "SecretBoxError", "secret_box"]

KEY_FILE = "notifier-alert-secrets.key"


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
        return SecretBox(parse_keys(settings.encryption_keys.get_secret_value()))
    if settings.environment == "production":
        raise SecretBoxError("KOPPEL_ENCRYPTION_KEYS must be set to store channel secrets")
    return SecretBox([_dev_key(settings.data_dir)])
