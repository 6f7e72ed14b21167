"""The daemon's VAPID key pair: generated on first start, the private key kept 0600 in ARGUS_HOME."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING

from argus.kernel.api import Unavailable

if TYPE_CHECKING:  # pragma: no cover
    from cryptography.hazmat.primitives.asymmetric import ec
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
    """The application server's P-256 key pair: the file is made on the first start, and read (with
    ``cryptography``, imported then) on first use, not while the daemon starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: ec.EllipticCurvePrivateKey | None = None

    @classmethod
    def load_or_create(cls, home: Path) -> VapidKeys:
        """Re-assert mode 0600 on ``vapid-private.pem``, or generate and write it."""
        path = home / KEY_FILE
        if path.exists():
            os.chmod(path, 0o600)
            return cls(path)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
        finally:
            os.close(fd)
        keys = cls(path)
        keys._key = key
        return keys

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """The private key, read from its file the first time (``Unavailable`` when it is not one)."""
        if self._key is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ec

            try:
                key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
            except (OSError, ValueError, TypeError) as exc:
                raise Unavailable(f"cannot read the VAPID key {self.path}: {exc}") from None
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise Unavailable(f"{self.path} does not hold an EC private key")
            self._key = key
        return self._key

    @property
    def public_key(self) -> str:
        """The uncompressed public point, URL-safe base64 (``applicationServerKey``)."""
        from cryptography.hazmat.primitives import serialization

        raw = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint)
        return b64url(raw)

    def vapid(self) -> Vapid:
        """A py-vapid signer for pywebpush (imported on the first send, not at start-up)."""
        from cryptography.hazmat.primitives import serialization
        from py_vapid import Vapid

        pem = self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        return Vapid.from_pem(pem)
