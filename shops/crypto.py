"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) with key rotation via MultiFernet."""

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _derived_key() -> bytes:
    digest = hashlib.sha256(b"credentials-key:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    keys = [k.encode() for k in settings.CREDENTIALS_KEYS] or [_derived_key()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("CREDENTIALS_KEYS holds an invalid Fernet key.") from exc


def encrypt(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "Stored credentials cannot be decrypted with CREDENTIALS_KEYS (was a key dropped "
            "before `manage.py rotate_credentials` ran?)."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt with the first key; what the rotation command runs for every connection."""
    return _fernet().rotate(token.encode()).decode() if token else token


def new_key() -> str:
    return Fernet.generate_key().decode()
