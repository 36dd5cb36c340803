"""Tracks from many sources as one struct of arrays: the fuse room's input.

A :class:`TrackSet` holds K tracks, each one source's (a nation's) estimate of one object at its
own time: states ``x`` (K, 2d) ``[p₁..p_d, v₁..v_d]`` in the scenario's ENU frame (m, m/s) and
covariances ``P`` (K, 2d, 2d) (m², m²/s, m²/s²), d = 2 or 3, with the columns a partner's
TrackReport carries (docs/messages.md): source nation, local track id, network track number
(``''`` when none), time ``t`` (s), quality 0-15, class and its confidence, identity, and the
releasability marking.

Markings are held as bit masks over a vocabulary of nation codes: ``rel_nations`` (sorted
alpha-3 codes) and ``rel_mask`` (K, W) uint64 with bit ``i % 64`` of word ``i // 64`` set when
the track is releasable to ``rel_nations[i]``; a fused track's marking is then one bitwise AND
over its contributors (:func:`intersect_markings`).

Identity is an integer: ``-1`` unknown, an ICAO 24-bit address as its value (0 .. 2²⁴-1), any
other identity text as a stable 61-bit hash above 2⁶¹ (:func:`identity_codes`). Two tracks with
different known identities are two different objects.

Nothing here does I/O; a node converts its partners' TrackReports into one TrackSet.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TrackSet",
    "encode_markings",
    "decode_markings",
    "remap_markings",
    "intersect_markings",
    "identity_codes",
    "identity_text",
    "key_index",
]

_ICAO_RE = re.compile(r"^[0-9a-fA-F]{6}$")
_TEXT_BASE = 1 << 61
_UNKNOWN_IDENTITY = {"", "unknown", "none", "-"}


# ---------------------------------------------------------------------------------------- markings


def _words(n_nations: int) -> int:
    return max(1, (n_nations + 63) // 64)


def encode_markings(markings: Sequence[Iterable[str]], vocab: Sequence[str] | None = None):
    """Markings (one iterable of alpha-3 codes per track) → (vocabulary, (K, W) uint64 bit mask).

    ``vocab`` (sorted codes) is built from the markings when not given; a code outside a given
    vocabulary raises ValueError naming the track and the code.
    """
    rows = [tuple(m) for m in markings]
    for k, m in enumerate(rows):
        for c in m:
            if not (isinstance(c, str) and len(c) == 3 and c.isupper() and c.isalpha()):
                raise ValueError(f"releasable_to of track {k}: expected alpha-3 nation codes "
                                 f"such as 'JPN', got {c!r}")
    if vocab is None:
        vocab = tuple(sorted({c for m in rows for c in m}))
    vocab = tuple(vocab)
    index = {c: i for i, c in enumerate(vocab)}
    mask = np.zeros((len(rows), _words(len(vocab))), dtype=np.uint64)
    cache: dict[tuple, np.ndarray] = {}
    for k, m in enumerate(rows):
        row = cache.get(m)
        if row is None:
            row = np.zeros(mask.shape[1], dtype=np.uint64)
            for c in m:
                i = index.get(c)
                if i is None:
                    raise ValueError(f"releasable_to of track {k}: nation {c!r} is not in the "
                                     f"vocabulary {vocab}")
                row[i // 64] |= np.uint64(1) << np.uint64(i % 64)
            cache[m] = row
        mask[k] = row
    return vocab, mask


def decode_markings(vocab: Sequence[str], mask: np.ndarray) -> list[tuple[str, ...]]:
    """Bit masks (K, W) back to canonical markings: one sorted tuple of codes per row."""
    mask = np.asarray(mask, dtype=np.uint64)
    if len(mask) == 0:
        return []
    uniq, inv = np.unique(mask, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    out_u = []
    for row in uniq:
        out_u.append(tuple(c for i, c in enumerate(vocab) if (int(row[i // 64]) >> (i % 64)) & 1))
    return [out_u[i] for i in inv.tolist()]


def remap_markings(vocab: Sequence[str], mask: np.ndarray, new_vocab: Sequence[str]) -> np.ndarray:
    """The same markings expressed over ``new_vocab`` (holding every code of ``vocab`` in use)."""
    mask = np.asarray(mask, dtype=np.uint64)
    new_index = {c: i for i, c in enumerate(new_vocab)}
    out = np.zeros((len(mask), _words(len(new_vocab))), dtype=np.uint64)
    one = np.uint64(1)
    for i, c in enumerate(vocab):
        bit = (mask[:, i // 64] >> np.uint64(i % 64)) & one
        if not bit.any():
            continue
        j = new_index.get(c)
        if j is None:
            raise ValueError(f"nation {c!r} is used by a marking but missing from the new "
                             "vocabulary")
        out[:, j // 64] |= bit << np.uint64(j % 64)
    return out


def intersect_markings(mask: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the bitwise AND of its members' masks: a fused track's marking (G, W).

    A group with no member gets the empty marking.
    """
    mask = np.asarray(mask, dtype=np.uint64)
    out = np.zeros((n_groups, mask.shape[1] if mask.ndim == 2 else 1), dtype=np.uint64)
    if len(group) == 0:
        return out
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    out[g[starts]] = np.bitwise_and.reduceat(mask[order], starts, axis=0)
    return out


# -------------------------------------------------------------------------------------- source keys


def key_index(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Index of each of ``keys`` in ``table`` (unique source keys, any order), -1 where absent.

    Source keys ("NATION:local_id", :attr:`TrackSet.keys`) are how the fuser finds a track again
    from one update to the next, its position in the inputs being free to change. By sorting:
    O((n + k) log n) for n table entries and k keys; O(n) when ``keys`` is ``table`` again (a
    node's local tracks from one update to the next, the usual case).
    """
    if len(table) == 0 or len(keys) == 0:
        return np.full(len(keys), -1, dtype=np.intp)
    if len(keys) == len(table) and np.array_equal(keys, table):
        return np.arange(len(keys), dtype=np.intp)
    order = np.argsort(table)
    st = table[order]
    pos = np.minimum(np.searchsorted(st, keys), len(st) - 1)
    hit = st[pos] == keys
    return np.where(hit, order[pos], -1)


# ---------------------------------------------------------------------------------------- identity


def identity_codes(texts: Iterable[str | int | None]) -> np.ndarray:
    """Identity texts → int64 codes: -1 unknown ('', 'unknown', None, negative ints), an ICAO
    24-bit address (six hex digits, any case) its value, any other text 2⁶¹ + a 60-bit BLAKE2b hash.
    """
    out = []
    for s in texts:
        if s is None:
            out.append(-1)
        elif isinstance(s, (int, np.integer)):
            out.append(int(s) if s >= 0 else -1)
        elif s.strip().lower() in _UNKNOWN_IDENTITY:
            out.append(-1)
        elif _ICAO_RE.match(s.strip()):
            out.append(int(s.strip(), 16))
        else:
            digest = hashlib.blake2b(s.strip().encode(), digest_size=8).digest()
            h = int.from_bytes(digest, "big") >> 4
            out.append(_TEXT_BASE | h)
    return np.asarray(out, dtype=np.int64).reshape(-1)


def identity_text(code: int) -> str:
    """An identity code back to text: 'unknown', the six-hex-digit ICAO address, or 'text#<hex>'
    for hashed text."""
    code = int(code)
    if code < 0:
        return "unknown"
    if code < (1 << 24):
        return f"{code:06x}"
    return f"text#{code & ((1 << 61) - 1):015x}"


# ---------------------------------------------------------------------------------------- TrackSet


def _str_array(values, n: int, name: str, default: str = "") -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=f"<U{max(1, len(default))}")
    if isinstance(values, str):
        return np.full(n, values, dtype=f"<U{max(1, len(values))}")
    if not isinstance(values, np.ndarray):
        values = [("" if v is None else str(v)) for v in values]
    arr = np.asarray(values)
    if arr.size == 0:
        arr = np.zeros(0, dtype="<U1")
    arr = arr.astype(str).reshape(-1)
    if len(arr) != n:
        raise ValueError(f"TrackSet field '{name}': expected {n} values (one per track), "
                         f"got {len(arr)}")
    return arr


def _num_array(values, n: int, name: str, dtype, default) -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    arr = arr.reshape(-1)
    if len(arr) != n:
        raise ValueError(f"TrackSet field '{name}': expected {n} values (one per track), "
                         f"got {len(arr)}")
    return arr.astype(dtype)


@dataclass(frozen=True, eq=False)
class TrackSet:
    """K tracks from one or many sources, struct of arrays (see the module docstring for units).

    Build one with :meth:`from_lists`, :meth:`from_frame` (a tracker Frame) or :meth:`empty`;
    combine with :meth:`concat`; select with :meth:`take`. Instances are not mutated.
    """

    nation: np.ndarray        # (K,) str: source nation, alpha-3
    local_id: np.ndarray      # (K,) str: the source's local track id
    ntn: np.ndarray           # (K,) str: network track number, '' when none
    t: np.ndarray             # (K,) float: time of the state, s
    x: np.ndarray             # (K, 2d) float: [p, v], m and m/s
    P: np.ndarray             # (K, 2d, 2d) float
    quality: np.ndarray       # (K,) int8: 0..15, higher is better
    cls: np.ndarray           # (K,) str: aircraft | cruise | ballistic | unknown (any label)
    class_conf: np.ndarray    # (K,) float: probability of cls, 0..1
    identity: np.ndarray      # (K,) int64: -1 unknown
    rel_nations: tuple        # vocabulary of the markings, sorted alpha-3 codes
    rel_mask: np.ndarray      # (K, W) uint64 bit masks over rel_nations

    def __post_init__(self):
        K = len(self.nation)
        x, P = np.asarray(self.x, dtype=float), np.asarray(self.P, dtype=float)
        if x.ndim != 2 or x.shape[0] != K or x.shape[1] not in (4, 6):
            raise ValueError(f"TrackSet field 'x': expected shape ({K}, 4) or ({K}, 6) "
                             f"([p, v] for d = 2 or 3), got {x.shape}")
        n = x.shape[1]
        if P.shape != (K, n, n):
            raise ValueError(f"TrackSet field 'P': expected shape ({K}, {n}, {n}), got {P.shape}")
        for name in ("local_id", "ntn", "t", "quality", "cls", "class_conf", "identity"):
            if len(getattr(self, name)) != K:
                raise ValueError(f"TrackSet field '{name}': expected {K} values, "
                                 f"got {len(getattr(self, name))}")
        if self.rel_mask.shape != (K, _words(len(self.rel_nations))):
            raise ValueError(f"TrackSet field 'rel_mask': expected shape "
                             f"({K}, {_words(len(self.rel_nations))}), got {self.rel_mask.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(P)) and np.all(np.isfinite(self.t))):
            finite = np.isfinite(x).all(1) & np.isfinite(P).reshape(K, -1).all(1)
            bad = np.flatnonzero(~(finite & np.isfinite(self.t)))
            raise ValueError(f"TrackSet: track {self.nation[bad[0]]}:{self.local_id[bad[0]]} has "
                             "a non-finite t, state or covariance")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "P", P)

    # ---------------------------------------------------------------- construction

    @classmethod
    def empty(cls, dims: int = 3) -> "TrackSet":
        """No tracks, states of 2·dims."""
        n = 2 * int(dims)
        s = np.zeros(0, dtype="<U1")
        return cls(s, s, s, np.zeros(0), np.zeros((0, n)), np.zeros((0, n, n)),
                   np.zeros(0, np.int8), s, np.zeros(0), np.zeros(0, np.int64), (),
                   np.zeros((0, 1), np.uint64))

    @classmethod
    def from_lists(
        klass,
        *,
        nation,
        local_id,
        t,
        x,
        P,
        ntn=None,
        quality=None,
        cls=None,
        class_conf=None,
        identity=None,
        releasable_to=None,
        dims: int | None = None,
    ) -> "TrackSet":
        """Build from per-track lists (or arrays); ``nation``, ``t`` and ``releasable_to`` may be
        one value for all.

        ``identity`` takes ints (-1 unknown) or texts (see :func:`identity_codes`);
        ``releasable_to`` one tuple of codes per track, or one tuple for all (default: the empty
        marking); ``cls`` the class labels (default 'unknown'). ``dims`` is needed only when
        there is no track.
        """
        x = np.asarray(x, dtype=float)
        if x.size == 0:
            return klass.empty(dims or 3)
        x = x.reshape(len(x), -1)
        K = len(x)
        n = x.shape[1]
        P = np.asarray(P, dtype=float).reshape(K, n, n)
        if releasable_to is None:
            marks = [()] * K
        elif len(releasable_to) == 0 or isinstance(releasable_to[0], str):
            marks = [tuple(releasable_to)] * K
        else:
            marks = list(releasable_to)
            if len(marks) != K:
                raise ValueError(f"TrackSet field 'releasable_to': expected {K} markings "
                                 f"(one per track), got {len(marks)}")
        vocab, mask = encode_markings(marks)
        if identity is None:
            ident = np.full(K, -1, dtype=np.int64)
        else:
            if isinstance(identity, np.ndarray) and identity.dtype.kind in "iu":
                ident = np.where(identity >= 0, identity, -1).astype(np.int64).reshape(-1)
            else:
                ident = identity_codes(identity)
            if len(ident) != K:
                raise ValueError(f"TrackSet field 'identity': expected {K} values, "
                                 f"got {len(ident)}")
        q = _num_array(quality, K, "quality", np.int64, 0)
        if np.any((q < 0) | (q > 15)):
            raise ValueError(f"TrackSet field 'quality': expected integers 0..15, "
                             f"got {q[(q < 0) | (q > 15)][0]}")
        conf = _num_array(class_conf, K, "class_conf", float, 0.0)
        if np.any((conf < 0) | (conf > 1)) or not np.all(np.isfinite(conf)):
            raise ValueError("TrackSet field 'class_conf': expected probabilities 0..1")
        return klass(
            _str_array(nation, K, "nation"), _str_array(local_id, K, "local_id"),
            _str_array(ntn, K, "ntn"), _num_array(t, K, "t", float, 0.0), x, P, q.astype(np.int8),
            _str_array(cls, K, "cls", "unknown"), conf, ident, vocab, mask,
        )

    @classmethod
    def from_frame(klass, frame, nation: str, releasable_to=(), *, ntn=None, cls=None,
                   class_conf=None) -> "TrackSet":
        """A tracker :class:`~skyweave.track.tracker.Frame` (one nation's confirmed tracks at
        frame.t) as a TrackSet.

        ``releasable_to``: one marking for all tracks or one per track.
        """
        K = len(frame.ids)
        d2 = frame.x.shape[1] if frame.x.ndim == 2 else 6
        if K == 0:
            return klass.empty(d2 // 2)
        return klass.from_lists(
            nation=nation, local_id=list(frame.ids), t=float(frame.t), x=frame.x, P=frame.P,
            ntn=ntn,
            quality=np.asarray(frame.quality), cls=cls, class_conf=class_conf,
            identity=np.asarray(frame.identity, dtype=np.int64), releasable_to=releasable_to,
        )

    @classmethod
    def concat(cls, sets: Sequence["TrackSet"]) -> "TrackSet":
        """One TrackSet holding every track of ``sets`` in order (markings re-expressed over the
        joint vocabulary)."""
        sets = [s for s in sets if len(s)] or list(sets[:1])
        if not sets:
            return cls.empty()
        if len(sets) == 1:
            return sets[0]
        n = {s.x.shape[1] for s in sets}
        if len(n) > 1:
            raise ValueError(f"TrackSet.concat: every set must have the same state size (2·dims), "
                             f"got {sorted(n)}")
        vocab = tuple(sorted(set().union(*[s.rel_nations for s in sets])))
        mask = np.concatenate([remap_markings(s.rel_nations, s.rel_mask, vocab) for s in sets])
        cat = lambda name: np.concatenate([getattr(s, name) for s in sets])  # noqa: E731
        return cls(cat("nation"), cat("local_id"), cat("ntn"), cat("t"), cat("x"), cat("P"),
                   cat("quality"), cat("cls"), cat("class_conf"), cat("identity"), vocab, mask)

    # ---------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self.nation)

    @property
    def dims(self) -> int:
        """Spatial dimensions d (the state is 2d long)."""
        return self.x.shape[1] // 2

    @property
    def keys(self) -> np.ndarray:
        """(K,) str: each track's source key ``"NATION:local_id"`` (as in a report's
        ``sources``); see :func:`key_index` to find keys in a table of them."""
        if len(self) == 0:
            return np.zeros(0, dtype="<U1")
        return np.char.add(np.char.add(self.nation.astype(str), ":"), self.local_id.astype(str))

    @property
    def releasable_to(self) -> list[tuple[str, ...]]:
        """Each track's marking as a sorted tuple of alpha-3 codes."""
        return decode_markings(self.rel_nations, self.rel_mask)

    def covariance_ok(self) -> np.ndarray:
        """(K,) True where P is symmetric (to 1e-9 relative) and positive definite: usable for
        gating and fusion."""
        if len(self) == 0:
            return np.zeros(0, dtype=bool)
        P = self.P
        scale = np.maximum(np.abs(P).max(axis=(1, 2)), 1e-300)
        sym = np.abs(P - np.swapaxes(P, 1, 2)).max(axis=(1, 2)) <= 1e-9 * scale
        lam = np.linalg.eigvalsh(0.5 * (P + np.swapaxes(P, 1, 2)))
        return sym & (lam[:, 0] > 1e-12 * scale)

    def take(self, idx) -> "TrackSet":
        """The tracks at ``idx`` (indices or a boolean mask), in that order."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return TrackSet(self.nation[idx], self.local_id[idx], self.ntn[idx], self.t[idx],
                        self.x[idx], self.P[idx], self.quality[idx], self.cls[idx],
                        self.class_conf[idx], self.identity[idx], self.rel_nations,
                        self.rel_mask[idx])

    def with_ntn(self, ntn) -> "TrackSet":
        """A copy with the network track numbers replaced (one per track, '' for none)."""
        return TrackSet(self.nation, self.local_id, _str_array(ntn, len(self), "ntn"), self.t,
                        self.x, self.P, self.quality, self.cls, self.class_conf, self.identity,
                        self.rel_nations, self.rel_mask)

    def __repr__(self) -> str:
        nations = ", ".join(sorted(set(self.nation.tolist())))
        return f"TrackSet({len(self)} tracks, dims={self.dims}, nations=[{nations}])"
