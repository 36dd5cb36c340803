"""Who may look: users (nation, role, argon2-hashed password) in a file, sessions, the audit log.

The users file is JSON, written whole and atomically with mode 0600::

    {"users": [{"user": "jpn", "nation": "JPN", "role": "viewer", "hash": "$argon2id$..."}]}

Roles: ``viewer`` (sees its nation's picture), ``operator`` (also sets a track's standard
identity), ``admin`` (also reads the audit log, the user list and the metrics). A session is a
random bearer token that expires ``ttl_s`` after login. The audit log is JSON lines: every login,
successful or not, and every refusal (401, 403, 404), with the time, user, route and reason.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

ROLES = ("viewer", "operator", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}
_USER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_NATION_RE = re.compile(r"^[A-Z]{3}$")
MIN_PASSWORD = 8


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


@dataclass(frozen=True)
class User:
    user: str
    nation: str
    role: str

    def may(self, role: str) -> bool:
        """True when this user's role is ``role`` or above it."""
        return _RANK[self.role] >= _RANK[role]


def check_user(user: str, nation: str, role: str, password: str | None = None) -> None:
    """ValueError naming the field when a user's name, nation, role or password is not acceptable."""
    if not isinstance(user, str) or not _USER_RE.match(user):
        raise ValueError(f"user {user!r}: 1-32 letters, digits, '_', '.' or '-'")
    if not isinstance(nation, str) or not _NATION_RE.match(nation):
        raise ValueError(f"nation {nation!r}: expected an ISO 3166-1 alpha-3 code such as JPN")
    if role not in ROLES:
        raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")


class UserStore:
    """Users with hashed passwords, in memory and (when ``path`` is given) in a JSON file."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self._users: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._ph = _hasher()
        self._dummy = self._ph.hash(secrets.token_hex(16))
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"users file {self.path}: cannot read it ({e})") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"users file {self.path}: not JSON (line {e.lineno}: {e.msg})") from None
        rows = data.get("users") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ValueError(f"users file {self.path}: expected {{\"users\": [...]}}")
        for k, r in enumerate(rows):
            if not isinstance(r, dict) or not all(isinstance(r.get(f), str) for f in ("user", "nation", "role", "hash")):
                raise ValueError(f"users file {self.path}: entry {k}: expected user, nation, role and hash")
            try:
                check_user(r["user"], r["nation"], r["role"])
            except ValueError as e:
                raise ValueError(f"users file {self.path}: entry {k}: {e}") from None
            self._users[r["user"]] = {f: r[f] for f in ("user", "nation", "role", "hash")}

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"users": sorted(self._users.values(), key=lambda r: r["user"])}, indent=1) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".users-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(body)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, user: str, nation: str, role: str, password: str, *, replace: bool = False) -> User:
        """Add (or with ``replace``, change) a user; ValueError on a bad field or an existing user."""
        check_user(user, nation, role, password)
        with self._lock:
            if user in self._users and not replace:
                raise ValueError(f"user {user!r} exists (remove it first)")
            self._users[user] = {"user": user, "nation": nation, "role": role, "hash": self._ph.hash(password)}
            self._save()
        return User(user, nation, role)

    def remove(self, user: str) -> None:
        with self._lock:
            if user not in self._users:
                raise ValueError(f"no user {user!r}")
            del self._users[user]
            self._save()

    def merge(self, other: UserStore) -> None:
        """Take every user of ``other`` (hashed as they are), replacing ones of the same name."""
        with self._lock:
            self._users.update({k: dict(v) for k, v in other._users.items()})
            self._save()

    def list(self) -> list[User]:
        with self._lock:
            return [User(r["user"], r["nation"], r["role"]) for r in sorted(self._users.values(), key=lambda r: r["user"])]

    def __len__(self) -> int:
        return len(self._users)

    def verify(self, user: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (as slow for an unknown user)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        r = self._users.get(user) if isinstance(user, str) else None
        try:
            self._ph.verify(r["hash"] if r else self._dummy, password if isinstance(password, str) else "")
        except (VerificationError, InvalidHashError):
            return None
        return User(r["user"], r["nation"], r["role"]) if r else None


@dataclass(frozen=True)
class Session:
    token: str
    user: User
    expires: float


class Sessions:
    """Bearer tokens that expire ``ttl_s`` seconds after login."""

    def __init__(self, ttl_s: float = 8 * 3600.0, clock=time.time):
        if not ttl_s > 0:
            raise ValueError(f"session lifetime must be > 0 s, got {ttl_s}")
        self.ttl_s = float(ttl_s)
        self.clock = clock
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, user: User) -> Session:
        s = Session(secrets.token_urlsafe(32), user, self.clock() + self.ttl_s)
        with self._lock:
            now = self.clock()
            for t in [t for t, v in self._by_token.items() if v.expires <= now]:
                del self._by_token[t]
            self._by_token[s.token] = s
        return s

    def get(self, token: str | None) -> tuple[Session | None, str]:
        """(session, "") for a live token, else (None, why): "missing", "unknown" or "expired"."""
        if not token:
            return None, "missing"
        with self._lock:
            s = self._by_token.get(token)
            if s is None:
                return None, "unknown"
            if s.expires <= self.clock():
                del self._by_token[token]
                return None, "expired"
        return s, ""

    def close(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)

    def __len__(self) -> int:
        return len(self._by_token)


class AuditLog:
    """Every login and refusal, as JSON lines in ``path`` (when given) and the last ``keep`` in memory."""

    def __init__(self, path: str | Path | None = None, keep: int = 2000):
        self.path = Path(path) if path is not None else None
        self.recent: deque = deque(maxlen=keep)
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._f = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a", buffering=1)

    def write(self, event: str, **fields) -> dict:
        rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
               "event": event, **fields}
        with self._lock:
            self.recent.append(rec)
            self.counts[event] = self.counts.get(event, 0) + 1
            if self._f is not None:
                self._f.write(json.dumps(rec) + "\n")
        return rec

    def close(self) -> None:
        with self._lock:
            if self._f is not None:
                self._f.close()
                self._f = None
