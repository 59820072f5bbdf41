"""Secrets at rest in the gateway: client secrets, OAuth tokens and webhook secrets.

The box itself is shared with the notifier (:mod:`koppel.common.secrets`); rotating runs
:func:`koppel.gateway.rotation.reencrypt_all` over the gateway's tables.
"""

from koppel.common.secrets import SecretBox, SecretBoxError, generate_encryption_key, parse_keys

__all__ = ["SecretBox", "SecretBoxError", "generate_encryption_key", "parse_keys"]
