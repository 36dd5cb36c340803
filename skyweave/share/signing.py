"""Ed25519 signatures for envelopes: nation key pairs, key files, the partners' keyring.

Each nation holds one Ed25519 private key (RFC 8032) and gives its public key to its partners;
every envelope it sends carries a 64-byte signature over
:func:`skyweave.share.schema.signing_bytes` (all fields but the signature, recipient and payload
included). Key files are PEM (PKCS#8 private, SubjectPublicKeyInfo public); the loaders also take
the raw 32-byte key in base64, as a file's content or as a string. Private key files are written
with mode 0600.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from skyweave.share.keyfiles import KeyFileError, NationKeys, read_private_key, read_public_key, save_private_pem, save_public_pem
from skyweave.share.releasability import validate_code
from skyweave.share.schema import Envelope, signing_bytes

__all__ = [
    "KeyFileError",
    "SignatureError",
    "Unsigned",
    "UnknownSender",
    "BadSignature",
    "generate_key",
    "save_private_key",
    "save_public_key",
    "load_private_key",
    "load_public_key",
    "public_key_b64",
    "private_key_b64",
    "generate_nation_keys",
    "Keyring",
    "sign_envelope",
    "verify_envelope",
]

log = logging.getLogger(__name__)


class SignatureError(Exception):
    """An envelope failed verification; ``reason`` is the admission reason it maps to."""

    reason = "bad_signature"


class Unsigned(SignatureError):
    """The envelope carries no signature."""

    reason = "unsigned"


class UnknownSender(SignatureError):
    """No public key is configured for the sender nation."""

    reason = "unknown_sender"


class BadSignature(SignatureError):
    """The signature does not verify: forged (another key) or tampered (content changed)."""

    reason = "bad_signature"


# --------------------------------------------------------------------------- keys and files


def generate_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key (its public key: ``key.public_key()``)."""
    return Ed25519PrivateKey.generate()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The raw 32-byte public key in standard base64 (44 characters), for configuration files."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return base64.b64encode(_raw_public(key)).decode("ascii")


def private_key_b64(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte private key (seed) in base64. Handle as a secret."""
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def save_private_key(key: Ed25519PrivateKey, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``key`` as an unencrypted PKCS#8 PEM file with mode 0600; return the path."""
    return save_private_pem(key, path, overwrite=overwrite)


def save_public_key(key: Ed25519PublicKey | Ed25519PrivateKey, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the public key as a SubjectPublicKeyInfo PEM file (mode 0644); return the path."""
    return save_public_pem(key, path, overwrite=overwrite)


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key file: PKCS#8 PEM, or the raw 32-byte seed in base64.

    Warns (logging) when the file is readable by group or others.
    """
    return read_private_key(path, Ed25519PrivateKey, "Ed25519")


def load_public_key(source: str | Path | bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    """A public key from a PEM file path, a base64 string of the raw 32 bytes, PEM text, or a key.

    A string is taken as the key when it is PEM text or 44 characters of base64 (a 32-byte key's
    length), and as a file path otherwise (so a 44-character path such as ``/tmp/.../AUS.pub``,
    not base64, is still a path).
    """
    return read_public_key(source, Ed25519PublicKey, "Ed25519")


def generate_nation_keys(nations: Iterable[str], directory: str | Path, *, overwrite: bool = False) -> dict[str, Path]:
    """Create ``DIR/<NATION>.key`` (0600) and ``DIR/<NATION>.pub`` for each nation.

    The sealing keys are made by :func:`skyweave.share.seal.generate_nation_seal_keys`.
    Returns nation -> (signing) public key path, ready for :meth:`Keyring.from_config`.
    """
    nations = list(nations)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for nation in nations:
        validate_code(nation)
        key = generate_key()
        save_private_key(key, directory / f"{nation}.key", overwrite=overwrite)
        out[nation] = save_public_key(key, directory / f"{nation}.pub", overwrite=overwrite)
    return out


class Keyring(NationKeys):
    """The partners' Ed25519 public keys, by nation: who this node believes, and how to check them."""

    load = staticmethod(load_public_key)
    b64 = staticmethod(public_key_b64)


# --------------------------------------------------------------------------- envelopes


def sign_envelope(env: Envelope, key: Ed25519PrivateKey) -> Envelope:
    """The envelope with ``sig`` = Ed25519(key, signing_bytes(env))."""
    return msgspec.structs.replace(env, sig=key.sign(signing_bytes(env)))


def verify_envelope(env: Envelope, keyring: Keyring) -> None:
    """Check ``env``'s signature with the sender nation's key; raise a SignatureError subclass if not good."""
    if not env.sig:
        raise Unsigned(f"envelope {env.msg_id} carries no signature")
    key = keyring.get(env.sender)
    if key is None:
        raise UnknownSender(f"no public key configured for sender nation {env.sender}")
    try:
        key.verify(env.sig, signing_bytes(env))
    except InvalidSignature:
        raise BadSignature(f"signature of {env.msg_id} does not verify with {env.sender}'s key") from None
