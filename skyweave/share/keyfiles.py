"""Key files: written with their permissions from the start, read in every accepted form, and the
error every key reader raises.

The signing keys (Ed25519, :mod:`skyweave.share.signing`) and the sealing keys (X25519,
:mod:`skyweave.share.seal`) are read alike: a private key from a file (PKCS#8 PEM, or the raw
32 bytes in base64), a public key from a file, PEM text or 44 characters of base64.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization

log = logging.getLogger("skyweave.share")


class KeyFileError(ValueError):
    """A key file or key string that cannot be used: names the source and what was wrong."""


def write_key_file(path: Path, data: bytes, mode: int, overwrite: bool) -> None:
    """Write ``data`` to ``path`` with permission bits ``mode`` (0600 for private keys) set before a
    byte is written; an existing file is replaced only with ``overwrite`` (KeyFileError otherwise)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise KeyFileError(f"{path}: exists (pass overwrite=True to replace it)") from None
    try:
        os.fchmod(fd, mode)  # os.open's mode is filtered by the umask, and ignored for an existing file
        os.write(fd, data)
    finally:
        os.close(fd)


def save_private_pem(key, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a private key as an unencrypted PKCS#8 PEM file with mode 0600; return the path."""
    path = Path(path)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_key_file(path, pem, 0o600, overwrite)
    return path


def save_public_pem(key, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a public key (or a private key's public half) as a SubjectPublicKeyInfo PEM file with
    mode 0644; return the path."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    path = Path(path)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_key_file(path, pem, 0o644, overwrite)
    return path


def is_b64_key(text: str) -> bool:
    """Is ``text`` (surrounding blanks aside) 44 characters of strict base64 (a 32-byte key's length)?"""
    text = text.strip()
    if len(text) != 44:
        return False
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def raw_32(text: str, source: str, what: str) -> bytes:
    """The 32 bytes of a base64 key (``what`` names the key in the error)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{source}: expected a PEM {what} or a base64 32-byte key, got text that is neither") from None
    if len(raw) != 32:
        raise KeyFileError(f"{source}: expected a base64 32-byte {what}, got {len(raw)} bytes")
    return raw


def read_private_key(path: str | Path, cls, algo: str):
    """A private key of type ``cls`` (``algo`` names it: "Ed25519", "X25519") from a file: PKCS#8 PEM,
    or the raw 32 bytes in base64. Warns (logging) when the file is readable by group or others."""
    path = Path(path)
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read {algo} private key: {e.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s: private key file is accessible by group/others (mode %o); chmod 600 it", path, mode & 0o777)
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as e:
            raise KeyFileError(f"{path}: not a readable unencrypted PEM private key ({e})") from None
        if not isinstance(key, cls):
            raise KeyFileError(f"{path}: expected an {algo} private key, got {type(key).__name__}")
        return key
    return cls.from_private_bytes(raw_32(data.decode("ascii", "replace"), str(path), f"{algo} private key"))


def read_public_key(source, cls, algo: str):
    """A public key of type ``cls`` from a PEM file path, PEM text, 44 characters of base64 (the raw
    32 bytes), those bytes, or the key itself. A string is the key when it is PEM text or 44
    characters of base64, and a file path otherwise (so a 44-character path is still a path)."""
    if isinstance(source, cls):
        return source
    label = f"{algo} public key"
    is_text_key = isinstance(source, str) and (source.lstrip().startswith("-----") or is_b64_key(source))
    if isinstance(source, Path) or (isinstance(source, str) and not is_text_key):
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise KeyFileError(f"{path}: cannot read {algo} public key: {e.strerror}") from None
        label = str(path)
    elif isinstance(source, str):
        data = source.encode("ascii", "replace")
    elif isinstance(source, bytes):
        data = source
    else:
        raise KeyFileError(f"expected an {algo} public key path, base64 string or PEM, got {type(source).__name__}")
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as e:
            raise KeyFileError(f"{label}: not a readable PEM public key ({e})") from None
        if not isinstance(key, cls):
            raise KeyFileError(f"{label}: expected an {algo} public key, got {type(key).__name__}")
        return key
    return cls.from_public_bytes(raw_32(data.decode("ascii", "replace"), label, f"{algo} public key"))


class NationKeys:
    """Public keys by nation, read by :meth:`load` (a subclass says which kind) from a file path,
    base64, PEM text or a key; :meth:`b64` is a key's portable form (for :meth:`to_config`)."""

    def __init__(self, keys=None):
        self._keys: dict = {}
        for nation, key in (keys or {}).items():
            self.add(nation, key)

    @staticmethod
    def load(source):
        raise NotImplementedError

    @staticmethod
    def b64(key) -> str:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        """From ``{nation: public key file path | base64 | PEM}`` (as in a node's YAML config)."""
        if isinstance(config, cls):
            return config
        return cls(config)

    def add(self, nation: str, key) -> None:
        """Hold ``key`` for ``nation`` (replaces a previous key)."""
        from skyweave.share.releasability import validate_code

        validate_code(nation)
        self._keys[nation] = self.load(key)

    def remove(self, nation: str) -> None:
        """Forget ``nation``'s key (revocation)."""
        self._keys.pop(nation, None)

    def get(self, nation: str):
        return self._keys.get(nation)

    def __contains__(self, nation: object) -> bool:
        return nation in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nations(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def to_config(self) -> dict[str, str]:
        """``{nation: base64 public key}``: the portable form of these keys."""
        return {n: self.b64(k) for n, k in sorted(self._keys.items())}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.nations)})"
