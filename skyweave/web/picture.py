"""What a viewer is shown: a node's events turned into plain JSON items, and the nation filter.

A **track item** (one fused track of a nation's joint picture) carries: ``id`` (the network
track number, or the first contributing source track when none is issued yet), ``t`` (s on the
scenario clock), ``lat``, ``lon`` (deg, WGS-84), ``alt`` (m, None in 2-D), ``ve``, ``vn``, ``vu``
(m/s east, north, up), ``speed`` (m/s), ``course`` (deg clockwise from north), ``ellipse`` (the
95 % horizontal position ellipse: ``semi_major_m``, ``semi_minor_m``, ``orientation_deg``
clockwise from north), ``sigma_alt_m``, ``quality`` (0-15), ``category`` (``aircraft``,
``cruise``, ``ballistic`` or ``unknown``), ``class_conf``, ``identity`` (the ICAO address in hex,
``text#...`` for a hashed identity, None when unknown), ``sid`` (the MIL-STD-2525 standard
identity: ``friend``, ``neutral``, ``suspect``, ``hostile``, ``unknown``) and ``sid_source``
(``rule`` or the operator who set it), ``nations`` and ``sources`` (contributing nations and
source tracks), ``sensors`` (this nation's own sensors that hold it), ``reporting`` and
``releasable_to``.

An **alert item** is the node's latest alert update (docs/formats.md, alerts.jsonl) with ``id``,
the contributing ``nations`` and ``open``.

:func:`visible` is the one rule every answer and frame goes through: an item leaves the server
for a viewer of nation N only if N is in its ``releasable_to``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from skyweave.geo.wgs84 import enu2geodetic

#: the 95 % quantile of chi-square with 2 degrees of freedom (horizontal position ellipse)
CHI2_2D_95 = 5.991464547107979

#: MIL-STD-2525 standard identities a track may have (an operator may set any of them)
STANDARD_IDENTITIES = ("pending", "unknown", "assumed_friend", "friend", "neutral", "suspect", "hostile")


def visible(item: Mapping, nation: str) -> bool:
    """True when ``item`` may be shown to a viewer of ``nation`` (it is releasable to it)."""
    rel = item.get("releasable_to")
    return isinstance(rel, (list, tuple)) and nation in rel


def only_visible(items: Iterable[Mapping], nation: str) -> list:
    """The items of ``items`` a viewer of ``nation`` may see, in order."""
    return [it for it in items if visible(it, nation)]


def standard_identity(category: str, identity: str | None, nations: Iterable[str], own: str) -> str:
    """The standard identity the rules give a track (an operator may override it).

    Civil traffic with an ICAO address (ADS-B) is ``neutral``; a missile (``ballistic``,
    ``cruise``) is ``suspect`` until an operator says otherwise; a track that carries a non-ICAO
    identity (an own or partner military identification, such as a Link 16 or Mode 5 answer) is
    ``friend``; everything else is ``unknown``.
    """
    if category in ("ballistic", "cruise"):
        return "suspect"
    if identity is not None and len(identity) == 6:
        return "neutral"
    if identity is not None:
        return "friend"
    return "unknown"


def ellipse_95(P2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 95 % ellipses of (K, 2, 2) east-north covariances: semi-major, semi-minor (m) and the
    major axis' orientation (deg clockwise from north, in [0, 180))."""
    a = P2[:, 0, 0]
    b = P2[:, 0, 1]
    c = P2[:, 1, 1]
    mid = 0.5 * (a + c)
    rad = np.sqrt(np.maximum(0.25 * (a - c) ** 2 + b * b, 0.0))
    l1 = np.maximum(mid + rad, 0.0)
    l2 = np.maximum(mid - rad, 0.0)
    theta = 0.5 * np.arctan2(2.0 * b, a - c)  # major axis from east, counter-clockwise
    orient = np.mod(90.0 - np.degrees(theta), 180.0)
    k = math.sqrt(CHI2_2D_95)
    return k * np.sqrt(l1), k * np.sqrt(l2), orient


def _ident_text(code: int) -> str | None:
    if code < 0:
        return None
    if code < (1 << 24):
        return f"{code:06x}"
    return f"text#{code & ((1 << 61) - 1):015x}"


def _rounded(a: np.ndarray, nd: int) -> list:
    """``a`` rounded to ``nd`` decimals as a list of floats, None where not finite."""
    a = np.asarray(a, dtype=float)
    out = np.round(a, nd).tolist()
    if not np.isfinite(a).all():
        out = [v if ok else None for v, ok in zip(out, np.isfinite(a).tolist())]
    return out


def _r(v: float, nd: int):
    v = float(v)
    return round(v, nd) if math.isfinite(v) else None


class PictureItems:
    """Turns a nation's fused pictures into track items (see the module docstring).

    ``origin`` is the scenario's geodetic origin (lat, lon, alt) of its ENU frame; ``own_sensors``
    the node's own sensor ids in the order its tracker numbers them (bit i of a local track's
    sensor mask is ``own_sensors[i]``). :meth:`local` records the latest local picture, whose
    sensors name the own sensors of each fused track.
    """

    def __init__(self, nation: str, origin: tuple[float, float, float], own_sensors: Iterable[str] = ()):
        self.nation = nation
        self.origin = tuple(float(v) for v in origin)
        self.own_sensors = tuple(own_sensors)
        self._local_sensors: dict[str, tuple[str, ...]] = {}
        #: source tuple -> (sources list, nations list, own sensors list): one computation and one
        #: set of list objects per distinct tuple (an unchanged track's lists are the same objects
        #: from picture to picture, which the frames' diff compares by identity first)
        self._by_sources: dict[tuple, tuple[list, list, list]] = {}
        self._rel_lists: dict[tuple, list] = {}

    def local(self, frame) -> None:
        """Remember which own sensors hold each local track of a tracker frame."""
        bits = np.asarray(getattr(frame, "sensors", np.zeros(len(frame.ids), dtype=np.uint64))).tolist()
        names = self.own_sensors
        out = {}
        for tid, b in zip(frame.ids, bits):
            b = int(b)
            out[str(tid)] = tuple(names[i] for i in range(min(len(names), 64)) if b >> i & 1)
        if out != self._local_sensors:
            self._by_sources = {}  # the own sensors of a source changed
        self._local_sensors = out

    def tracks(self, picture, overrides: Mapping[str, tuple[str, str]] | None = None) -> list[dict]:
        """The track items of a :class:`~skyweave.fuse.FusedPicture` (``overrides``: track id ->
        (standard identity, who set it))."""
        n = len(picture)
        if n == 0:
            return []
        overrides = overrides or {}
        d = picture.dims
        x = np.asarray(picture.x, dtype=float)
        P = np.asarray(picture.P, dtype=float)
        lat0, lon0, alt0 = self.origin
        up = x[:, 2] if d == 3 else np.zeros(n)
        lat, lon, alt = enu2geodetic(x[:, 0], x[:, 1], up, lat0, lon0, alt0)
        ve, vn = x[:, d], x[:, d + 1]
        vu = x[:, d + 2] if d == 3 else np.zeros(n)
        speed = np.sqrt(ve * ve + vn * vn + vu * vu)
        course = np.mod(np.degrees(np.arctan2(ve, vn)), 360.0)
        smaj, smin, orient = ellipse_95(P[:, :2, :2])
        sig_alt = np.sqrt(np.maximum(P[:, 2, 2], 0.0)) if d == 3 else None
        rel = picture.releasable_to
        src = picture.sources
        own = self.nation
        lat_l, lon_l = _rounded(lat, 5), _rounded(lon, 5)
        alt_l = _rounded(alt, 0) if d == 3 else [None] * n
        ve_l, vn_l = _rounded(ve, 1), _rounded(vn, 1)
        vu_l = _rounded(vu, 1) if d == 3 else [None] * n
        speed_l, course_l = _rounded(speed, 1), _rounded(course, 1)
        smaj_l, smin_l, orient_l = _rounded(smaj, 0), _rounded(smin, 0), _rounded(orient, 1)
        sig_l = _rounded(sig_alt, 0) if sig_alt is not None else [None] * n
        t = _r(picture.t, 2)
        ntn = picture.ntn.tolist()
        cls = picture.cls.tolist()
        conf = _rounded(np.asarray(picture.class_conf, dtype=float), 2)
        ident = np.asarray(picture.identity).tolist()
        qual = np.asarray(picture.quality).tolist()
        resp = np.asarray(picture.responsible).tolist()
        local_sensors = self._local_sensors
        prefix = own + ":"
        by_sources = self._by_sources
        if len(by_sources) > 4 * n + 1024:
            by_sources.clear()
        rel_lists = self._rel_lists
        if len(rel_lists) > 4096:
            rel_lists.clear()
        items = []
        for i in range(n):
            key = tuple(src[i])
            derived = by_sources.get(key)
            if derived is None:
                sources = list(key)
                nations = sorted({s.split(":", 1)[0] for s in sources})
                sensors = sorted({s for k in sources if k.startswith(prefix) for s in local_sensors.get(k[len(prefix):], ())})
                derived = by_sources[key] = (sources, nations, sensors)
            sources, nations, sensors = derived
            r = tuple(rel[i])
            rel_l = rel_lists.get(r)
            if rel_l is None:
                rel_l = rel_lists[r] = list(r)
            tid = str(ntn[i]) or (sources[0] if sources else f"{own}-{i}")
            category = str(cls[i]) if cls[i] else "unknown"
            identity = _ident_text(int(ident[i]))
            sid, sid_source = overrides.get(tid) or (standard_identity(category, identity, nations, own), "rule")
            items.append({
                "id": tid, "t": t, "lat": lat_l[i], "lon": lon_l[i], "alt": alt_l[i],
                "ve": ve_l[i], "vn": vn_l[i], "vu": vu_l[i], "speed": speed_l[i], "course": course_l[i],
                "ellipse": {"semi_major_m": smaj_l[i], "semi_minor_m": smin_l[i], "orientation_deg": orient_l[i]},
                "sigma_alt_m": sig_l[i], "quality": int(qual[i]), "category": category, "class_conf": conf[i],
                "identity": identity, "sid": sid, "sid_source": sid_source,
                "nations": nations, "sources": sources, "sensors": sensors,
                "reporting": bool(resp[i]), "releasable_to": rel_l,
            })
        return items


def alert_item(alert: dict, sensor_nation: Mapping[str, str]) -> dict:
    """The item of one alert update (its alerts.jsonl dict): the same fields plus ``id``,
    ``open`` and the contributing ``nations`` (a joint alert's own list, else from its
    sensors)."""
    item = dict(alert)
    item["id"] = alert["alert_id"]
    item["open"] = alert.get("status") not in ("closed", "merged", "lost")
    srcs = alert.get("sources") or []
    from_sensors = {sensor_nation.get(s, s.split("-", 1)[0]) for s in srcs}
    item["nations"] = sorted(from_sensors | set(alert.get("nations") or ()))
    item["releasable_to"] = list(alert.get("releasable_to") or [])
    return item
