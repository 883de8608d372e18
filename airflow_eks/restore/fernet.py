"""Fernet keys as Airflow reads `[core] fernet_key`: one key, or several separated by commas.

A Fernet key is the URL-safe base64 encoding of 32 bytes, a signing key and an encryption key
of 16 each (Fernet spec, github.com/fernet/spec, "Key Format"); cryptography's Fernet refuses
any other length. Airflow splits the setting at commas into a MultiFernet
(airflow/models/crypto.py, get_fernet): the first key encrypts, every key decrypts, which is
how a key is rotated (`airflow rotate-fernet-key`).
"""

from __future__ import annotations

import base64
import binascii
import re

KEY_BYTES = 32
# 32 bytes in base64: 43 characters and one `=` of padding, as Fernet.generate_key() writes it.
_KEY = re.compile(r"[A-Za-z0-9_-]{43}=", re.ASCII)
ALLOWED = ("one Fernet key (URL-safe base64 of 32 bytes, 44 characters ending in =, as "
           "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` prints), "
           "or several separated by commas, the one that encrypts first")


def keys(value: str) -> list[str]:
    """The keys of a `fernet_key` value, or ValueError (the message never quotes a key)."""
    parts = value.split(",")
    for position, part in enumerate(parts, 1):
        if not _KEY.fullmatch(part):
            raise ValueError(f"{ALLOWED} (key {position} of {len(parts)} is not one)")
        try:
            raw = base64.urlsafe_b64decode(part)
        except (binascii.Error, ValueError):  # pragma: no cover - the pattern admits only base64
            raise ValueError(f"{ALLOWED} (key {position} of {len(parts)} is not base64)") from None
        if len(raw) != KEY_BYTES:  # pragma: no cover - 43 characters and = are always 32 bytes
            raise ValueError(f"{ALLOWED} (key {position} of {len(parts)} has {len(raw)} bytes)")
    if len(set(parts)) != len(parts):
        raise ValueError(f"{ALLOWED} (a key is listed twice)")
    return parts


def copy_name_prefix(project: str, stack: str) -> str:
    """Name prefix of the key's kept copy in Secrets Manager (components/fernet_key_copy.py).

    Project and stack names hold only letters, digits, `-`, `_` and `.`, all of which Secrets
    Manager names allow; the secrets backend's prefixes (airflow/connections, airflow/variables)
    can never match it, so Airflow never reads it as a connection or variable.
    """
    return f"{project}-{stack}-fernet-key-"
