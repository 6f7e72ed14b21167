"""The daemon's VAPID key pair: generated on first start, the private key kept 0600 in ARGUS_HOME."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:  # pragma: no cover
    from py_vapid import Vapid

KEY_FILE = "vapid-private.pem"


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding (the Web Push wire format)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode URL-safe base64 with or without padding (ValueError when malformed)."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None


class VapidKeys:
    """The application server's P-256 key pair."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self.private_key = private_key

    @classmethod
    def load_or_create(cls, home: Path) -> VapidKeys:
        """Read ``vapid-private.pem`` (re-asserting mode 0600) or generate and write it."""
        path = home / KEY_FILE
        if path.exists():
            os.chmod(path, 0o600)
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{path} does not hold an EC private key")
            return cls(key)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
        finally:
            os.close(fd)
        return cls(key)

    @property
    def public_key(self) -> str:
        """The uncompressed public point, URL-safe base64 (``applicationServerKey``)."""
        raw = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint)
        return b64url(raw)

    def vapid(self) -> Vapid:
        """A py-vapid signer for pywebpush (imported on the first send, not at start-up)."""
        from py_vapid import Vapid

        pem = self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        return Vapid.from_pem(pem)
