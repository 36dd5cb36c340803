"""No existence leaks (docs/messages.md, "Existence"): a network track number, a deletion or an
alert of another nation never reaches a recipient that its owner did not itself tell.

:func:`count_existence_leaks` measures it on every frame a network published (a recording bus);
the tests run it on an in-process trilateral network and on hand-made pictures.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from skyweave.share.bus import InProcessBus
from skyweave.share.schema import decode_body, decode_envelope


class RecordingBus(InProcessBus):
    """An :class:`InProcessBus` that keeps every published frame, in publishing order."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.frames: list[tuple[str, bytes]] = []

    def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> None:
        self.frames.append((subject, data))
        super().publish(subject, data, msg_id=msg_id)


def owner_of(ntn: str) -> str:
    """The nation whose block a network track number comes from ('' for none)."""
    return ntn.split("-N", 1)[0] if isinstance(ntn, str) and "-N" in ntn else ""


@dataclass
class LeakCount:
    """Existence leaks over a run, each counted once per (report, recipient)."""

    ntn: int = 0             # a report carrying a number whose owner never released it to the recipient
    ntn_early: int = 0       # ... released to it, but only later than this report
    deleted: int = 0         # a "deleted" report of a track the recipient was never sent
    alerts: int = 0          # an alert of another nation than its sender
    reports: int = 0         # track reports sent (all recipients)
    foreign_ntn: int = 0     # of which carrying another nation's number
    by_pair: Counter = field(default_factory=Counter)  # (sender, recipient) -> ntn leaks

    @property
    def total(self) -> int:
        return self.ntn + self.ntn_early + self.deleted + self.alerts


def count_existence_leaks(frames) -> LeakCount:
    """Count existence leaks in ``frames`` ((subject, unsealed frame bytes), in publishing order)."""
    decoded = []
    for _, data in frames:
        env = decode_envelope(data)
        if env.kind in ("tracks", "alerts"):
            decoded.append((env, decode_body(env.kind, env.payload)))
    # ntn -> the nations its owner released it to: sent it to, or named in a report's
    # ``ntn_released`` (the owner's consent that whoever reports the object to them names it)
    released: dict[str, set[str]] = defaultdict(set)
    for env, body in decoded:
        if env.kind == "tracks":
            for r in body:
                if r.ntn and owner_of(str(r.ntn)) == env.sender:
                    released[str(r.ntn)].add(env.recipient)
                    released[str(r.ntn)].update(r.ntn_released or ())
    out = LeakCount()
    released_so_far: dict[str, set[str]] = defaultdict(set)
    told: dict[tuple[str, str], set[str]] = defaultdict(set)  # (sender, recipient) -> track ids sent
    for env, body in decoded:
        s, rcp = env.sender, env.recipient
        if env.kind == "alerts":
            out.alerts += sum(a.nation != s for a in body)
            continue
        for r in body:
            out.reports += 1
            if r.status == "deleted":
                if r.track_id not in told[s, rcp]:
                    out.deleted += 1
                continue
            told[s, rcp].add(r.track_id)
            n = str(r.ntn) if r.ntn else ""
            o = owner_of(n)
            if o == s:
                released_so_far[n].add(rcp)
                released_so_far[n].update(r.ntn_released or ())
            elif n and o != rcp:
                out.foreign_ntn += 1
                if rcp not in released[n]:
                    out.ntn += 1
                    out.by_pair[s, rcp] += 1
                elif rcp not in released_so_far[n]:
                    out.ntn_early += 1
    return out


def run_recorded(duration: float, tmp_path, scenario: str = "trilateral") -> tuple[LeakCount, dict]:
    """An in-process network of ``scenario`` for ``duration`` (s): its leak count and summary."""
    from skyweave.node.network import run_network
    from skyweave.scenario.shipped import scenario_path

    bus = RecordingBus()
    s = run_network(scenario_path(scenario), tmp_path, duration=duration, progress=False, bus=bus)
    return count_existence_leaks(bus.frames), s


# ---------------------------------------------------------------------------- helpers for the tests

def _pic(t: float, ids: list[str], dims: int = 3):
    """A tracker frame of ``ids`` (states zero but for position), enough for ShareLink."""
    from types import SimpleNamespace

    import numpy as np

    K, n = len(ids), 2 * dims
    x = np.zeros((K, n))
    x[:, 0] = np.arange(K) * 1000.0
    return SimpleNamespace(t=t, ids=list(ids), x=x, P=np.tile(np.eye(n), (K, 1, 1)),
                           quality=np.full(K, 10), identity=np.full(K, -1))


def _link(nation: str, partners: tuple[str, ...], bus):
    from skyweave.node.share_link import ShareLink
    from skyweave.share import Keyring, Sequencer, generate_key

    key = generate_key()
    return ShareLink(nation, f"{nation.lower()}-1", key, Keyring({nation: key.public_key()}), bus,
                     partners=partners, dims=3, stale_s=60.0, clock=lambda: 0.0, sequencer=Sequencer(1))


# ---------------------------------------------------------------------------- tests

def test_counter_sees_each_kind_of_leak():
    """The measure itself: each kind of leak, sent by hand, is counted (and nothing else)."""
    from skyweave.share import AlertReport, Publisher, Sequencer, TrackReport, generate_key

    def rep(nation, tid, ntn="", rel=("AUS", "GBR", "JPN", "USA"), status="confirmed"):
        return TrackReport(ntn=ntn, nation=nation, node="n", track_id=tid, t=1.0, state=[0.0] * 6,
                           status=status, releasable_to=rel)

    bus = RecordingBus()
    jpn = Publisher("JPN", "n", generate_key(), ("AUS", "GBR", "USA"), bus, sequencer=Sequencer(1))
    usa = Publisher("USA", "n", generate_key(), ("AUS", "GBR", "JPN"), bus, sequencer=Sequencer(1))
    jpn.publish_tracks([rep("JPN", "J1", "JPN-N00001", ("JPN", "USA")),
                        rep("JPN", "J2", "JPN-N00002", ("AUS", "JPN", "USA"))], 1.0)
    usa.publish_tracks([rep("USA", "U1", "JPN-N00001"),      # to AUS and GBR: 2 number leaks
                        rep("USA", "U2", "JPN-N00002"),      # to GBR: 1
                        rep("USA", "U3", "USA-N00001")], 1.0)  # its own: fine
    usa.publish_tracks([rep("USA", "U9", status="deleted")], 2.0)  # never sent: 3 deletion leaks
    usa.publish_tracks([rep("USA", "U3", status="deleted")], 2.0)  # sent to all: fine
    usa.publish_alerts([AlertReport(alert_id="a1", t=1.0, threat="ballistic", nation="JPN",
                                    releasable_to=("AUS", "JPN", "USA"))], 1.0)  # 2 alert leaks
    c = count_existence_leaks(bus.frames)
    assert (c.ntn, c.deleted, c.alerts, c.ntn_early) == (3, 3, 2, 0)
    assert c.by_pair == Counter({("USA", "AUS"): 1, ("USA", "GBR"): 2})


def test_share_link_names_a_number_only_to_whom_its_owner_released_it():
    """A report of a JPN-numbered object goes to every partner its marking allows, but carries
    JPN's number only to those JPN released it to; the others get it unnamed. Frames: one per
    partner, as without lineage."""
    from skyweave.node.share_link import ReportFlags

    bus = RecordingBus()
    link = _link("USA", ("AUS", "GBR", "JPN"), bus)
    everyone = ("AUS", "GBR", "JPN", "USA")
    flags = {"T1": ReportFlags("JPN-N00007", True, False, "aircraft", 0.9, everyone, ("AUS", "JPN")),
             "T2": ReportFlags("USA-N00001", True, False, "aircraft", 0.9, everyone, None)}
    link.publish_tracks(1.0, _pic(1.0, ["T1", "T2"]), [True, True], flags, responsibility=True)
    got = {}
    for _, data in bus.frames:
        env = decode_envelope(data)
        got[env.recipient] = {r.track_id: r.ntn for r in decode_body("tracks", env.payload)}
    assert got == {"AUS": {"T1": "JPN-N00007", "T2": "USA-N00001"},
                   "GBR": {"T1": "", "T2": "USA-N00001"},
                   "JPN": {"T1": "JPN-N00007", "T2": "USA-N00001"}}
    assert len(bus.frames) == 3 and link.stats["ntn_withheld"] == 1


def test_deleted_reports_go_only_to_partners_that_were_sent_the_track():
    from skyweave.node.share_link import ReportFlags

    bus = RecordingBus()
    link = _link("USA", ("AUS", "GBR", "JPN"), bus)
    f = {"A": ReportFlags("USA-N00001", True, False, "aircraft", 0.9, ("JPN", "USA")),
         "B": ReportFlags("USA-N00002", True, False, "aircraft", 0.9, ("AUS", "JPN", "USA")),
         "C": ReportFlags("USA-N00003", True, False, "aircraft", 0.9, ("USA",))}
    link.publish_tracks(1.0, _pic(1.0, ["A", "B", "C"]), [True] * 3, f, responsibility=True)
    n_before = len(bus.frames)
    link.publish_tracks(2.0, _pic(2.0, []), [], {}, responsibility=True, ending=True)  # all three end
    deleted = {}
    for _, data in bus.frames[n_before:]:
        env = decode_envelope(data)
        deleted[env.recipient] = sorted(r.track_id for r in decode_body("tracks", env.payload))
    assert deleted == {"AUS": ["B"], "JPN": ["A", "B"]}  # C was sent to nobody: no deletion at all
    assert count_existence_leaks(bus.frames).total == 0
    assert link.told == {}


def test_fuser_lineage_outlives_the_owner_s_reports():
    """The fuser learns whom the owner released its number to, from the owner's own reports only,
    and keeps it while a local track holds the number (after the owner stopped reporting)."""
    import numpy as np

    from skyweave.fuse import Fuser, FuserConfig, TrackSet

    P = np.diag([100.0] * 3 + [1.0] * 3)
    x = [[0.0, 0.0, 9000.0, 200.0, 0.0, 0.0]]
    def own(t):
        return TrackSet.from_lists(nation="USA", local_id=["U-1"], t=t, x=x, P=[P], quality=[14],
                                   releasable_to=[("AUS", "GBR", "JPN", "USA")])

    def jpn(t):
        return TrackSet.from_lists(nation="JPN", local_id=["J-1"], t=t, ntn=["JPN-N00007"], x=x, P=[P],
                                   quality=[8], releasable_to=[("AUS", "JPN", "USA")])

    # another nation's report carrying a JPN number is no evidence of JPN's release
    gbr = TrackSet.from_lists(nation="GBR", local_id=["G-1"], t=10.0, ntn=["JPN-N00009"],
                              x=[[5e5, 0.0, 9000.0, 200.0, 0.0, 0.0]], P=[P], quality=[8],
                              releasable_to=[("AUS", "GBR", "JPN", "USA")])
    fuser = Fuser("USA", FuserConfig())
    for t in np.arange(10.0, 20.0):  # until the pair is confirmed: then the smallest number wins
        pic = fuser.update(t, own(t), TrackSet.concat([jpn(t), gbr]))
        if pic.local_ntn[0] == "JPN-N00007":
            break
    assert pic.local_ntn.tolist() == ["JPN-N00007"]
    assert pic.local_ntn_to == (("AUS", "JPN", "USA"),)
    assert fuser.released_to("JPN-N00007") == ("AUS", "JPN", "USA")
    assert fuser.released_to("JPN-N00009") == ("JPN",)
    assert fuser.released_to("USA-N00001") is None and fuser.released_to("") is None
    t0 = t
    # JPN stops reporting; USA keeps the number, and its lineage
    for t in (t0 + 2.0, t0 + 4.0):
        pic = fuser.update(t, own(t), TrackSet.empty(3))
    assert pic.local_ntn.tolist() == ["JPN-N00007"] and pic.local_ntn_to == (("AUS", "JPN", "USA"),)


def test_trilateral_network_has_no_existence_leaks(tmp_path):
    """An in-process trilateral network, 300 s: no report names to AUS or GBR a number its owner
    did not release to them, no deletion names a track its recipient was never sent, no alert
    is another nation's (before the fix: 829 number leaks and 29 deletion leaks)."""
    c, s = run_recorded(300.0, tmp_path)
    assert c.reports > 10_000 and c.foreign_ntn > 1_000  # numbers still flow where their owner allows
    assert (c.ntn, c.ntn_early, c.deleted, c.alerts) == (0, 0, 0, 0), c
