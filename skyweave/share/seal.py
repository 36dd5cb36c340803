"""Sealed frames: each signed frame encrypted to its one recipient nation (X25519 + HKDF + ChaCha20-Poly1305).

The NATS cluster is shared and neither its operator nor whoever reads its disks is trusted with
content (docs/messages.md, "Securing the bus"). A sender therefore seals the *whole signed frame*
(envelope, marking and payload) to the recipient nation's X25519 public key; only the recipient's
X25519 private key opens it, and the gate then verifies the Ed25519 signature of the frame inside
as it would an unsealed one (sign, then encrypt).

Construction (ephemeral-static ECIES, RFC 7748 + RFC 5869 + RFC 8439)::

    e, E  = a fresh X25519 key pair per frame            (E = e·G, 32 bytes)
    z     = X25519(e, R)                                 (R: the recipient's static public key)
    k     = HKDF-SHA256(z, salt = E || R, info = "skyweave/seal/v1", 32 bytes)
    c     = ChaCha20-Poly1305(k, nonce = 12 zero bytes, frame, aad)
    aad   = "skyweave/seal/v1\\0" || subject || "\\0" || sender || "\\0" || recipient
    wire  = "SWS1" || E || c                             (36 bytes + frame + 16-byte tag)

A fresh ephemeral key per frame gives each frame its own key (so the fixed nonce is never reused)
and forward secrecy for the sender: nothing the sender keeps opens a frame it sent. The
associated data binds the ciphertext to its subject, sender and recipient, so a sealed frame
moved to another subject does not open. The seal does not authenticate the sender: that is the
signature's job, checked after opening.

Keys are distributed like the signing keys: ``DIR/<NATION>.x25519`` (PKCS#8 PEM, mode 0600) and
``DIR/<NATION>.x25519.pub`` (SubjectPublicKeyInfo PEM), or the raw 32 bytes in base64.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from skyweave.share.releasability import validate_code
from skyweave.share.keyfiles import NationKeys, read_private_key, read_public_key, save_private_pem, save_public_pem

__all__ = [
    "SEAL_MAGIC",
    "SEAL_OVERHEAD",
    "SealError",
    "SealRing",
    "generate_seal_key",
    "save_seal_private_key",
    "save_seal_public_key",
    "load_seal_private_key",
    "load_seal_public_key",
    "seal_public_key_b64",
    "generate_nation_seal_keys",
    "is_sealed",
    "seal_frame",
    "open_frame",
]

log = logging.getLogger(__name__)

SEAL_MAGIC = b"SWS1"
_INFO = b"skyweave/seal/v1"
_NONCE = bytes(12)
SEAL_OVERHEAD = len(SEAL_MAGIC) + 32 + 16  # magic, ephemeral public key, Poly1305 tag (bytes)


class SealError(ValueError):
    """A sealed frame that cannot be opened (wrong recipient key, tampered, moved, truncated)."""


# --------------------------------------------------------------------------- keys and files


def generate_seal_key() -> X25519PrivateKey:
    """A new random X25519 private key (its public key: ``key.public_key()``)."""
    return X25519PrivateKey.generate()


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def seal_public_key_b64(key: X25519PublicKey | X25519PrivateKey) -> str:
    """The raw 32-byte X25519 public key in base64 (44 characters), for configuration files."""
    if isinstance(key, X25519PrivateKey):
        key = key.public_key()
    return base64.b64encode(_raw_public(key)).decode("ascii")


def save_seal_private_key(key: X25519PrivateKey, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``key`` as an unencrypted PKCS#8 PEM file with mode 0600; return the path."""
    return save_private_pem(key, path, overwrite=overwrite)


def save_seal_public_key(key: X25519PublicKey | X25519PrivateKey, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the X25519 public key as a SubjectPublicKeyInfo PEM file (mode 0644); return the path."""
    return save_public_pem(key, path, overwrite=overwrite)


def load_seal_private_key(source: str | Path | X25519PrivateKey) -> X25519PrivateKey:
    """An X25519 private key from a file (PKCS#8 PEM or base64 raw 32 bytes), or the key itself.

    Warns (logging) when the file is readable by group or others.
    """
    if isinstance(source, X25519PrivateKey):
        return source
    return read_private_key(source, X25519PrivateKey, "X25519")


def load_seal_public_key(source: str | Path | bytes | X25519PublicKey) -> X25519PublicKey:
    """An X25519 public key from a file (PEM or base64 raw 32 bytes), PEM text, 44 characters of
    base64, or the key itself (as :func:`skyweave.share.signing.load_public_key`)."""
    return read_public_key(source, X25519PublicKey, "X25519")


def generate_nation_seal_keys(nations: Iterable[str], directory: str | Path, *, overwrite: bool = False) -> dict[str, Path]:
    """Create ``DIR/<NATION>.x25519`` (0600) and ``DIR/<NATION>.x25519.pub`` for each nation.

    Returns nation -> public key path, ready for :meth:`SealRing.from_config`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for nation in nations:
        validate_code(nation)
        key = generate_seal_key()
        save_seal_private_key(key, directory / f"{nation}.x25519", overwrite=overwrite)
        out[nation] = save_seal_public_key(key, directory / f"{nation}.x25519.pub", overwrite=overwrite)
    return out


class SealRing(NationKeys):
    """The partners' X25519 public keys, by nation: to whom this node can seal frames."""

    load = staticmethod(load_seal_public_key)
    b64 = staticmethod(seal_public_key_b64)


# --------------------------------------------------------------------------- frames


def _aad(subject: str, sender: str, recipient: str) -> bytes:
    return b"%s\x00%s\x00%s\x00%s" % (_INFO, subject.encode(), sender.encode(), recipient.encode())


def _key(shared: bytes, eph_pub: bytes, rcpt_pub: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + rcpt_pub, info=_INFO).derive(shared)


def is_sealed(data: bytes) -> bool:
    """Does ``data`` start like a sealed frame (``SWS1``)? A signed envelope never does (msgpack array)."""
    return bytes(data[: len(SEAL_MAGIC)]) == SEAL_MAGIC


def seal_frame(frame: bytes, recipient_key: X25519PublicKey, *, subject: str, sender: str, recipient: str) -> bytes:
    """``frame`` sealed to ``recipient_key``, bound to ``subject``, ``sender`` and ``recipient`` (module docstring)."""
    eph = X25519PrivateKey.generate()
    eph_pub = _raw_public(eph.public_key())
    rcpt_pub = _raw_public(recipient_key)
    k = _key(eph.exchange(recipient_key), eph_pub, rcpt_pub)
    return SEAL_MAGIC + eph_pub + ChaCha20Poly1305(k).encrypt(_NONCE, bytes(frame), _aad(subject, sender, recipient))


def open_frame(sealed: bytes, key: X25519PrivateKey, *, subject: str, sender: str, recipient: str) -> bytes:
    """The frame inside ``sealed``; SealError if it is not sealed to ``key`` under this subject, sender, recipient."""
    sealed = bytes(sealed)
    if not is_sealed(sealed):
        raise SealError("not a sealed frame (no SWS1 prefix)")
    if len(sealed) < SEAL_OVERHEAD:
        raise SealError(f"sealed frame of {len(sealed)} bytes is shorter than the {SEAL_OVERHEAD}-byte overhead")
    eph_pub = sealed[4:36]
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError as e:  # e.g. an all-zero (low-order) ephemeral key: the shared secret is zero
        raise SealError(f"bad ephemeral key: {e}") from None
    k = _key(shared, eph_pub, _raw_public(key.public_key()))
    try:
        return ChaCha20Poly1305(k).decrypt(_NONCE, sealed[36:], _aad(subject, sender, recipient))
    except InvalidTag:
        raise SealError(
            f"sealed frame on {subject} does not open with this key "
            "(sealed to another nation's key, moved from another subject, or altered)"
        ) from None
