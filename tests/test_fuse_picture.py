"""The fused picture: markings, class and identity, members and weights, stale reports, GOSPA
against each nation's own picture, configuration errors, and the docs/fusion.md examples."""

import re
from pathlib import Path

import numpy as np
import pytest

from skyweave.fuse import Fuser, FuserConfig, TrackSet
from tests.support.fusesim import SimNation, cv_truth
from skyweave.metrics import gospa

DOCS = Path(__file__).resolve().parents[1] / "docs"


def rows(nation, specs, t=0.0):
    """specs: (local_id, x, y, marking, cls, conf, identity)."""
    K = len(specs)
    return TrackSet.from_lists(
        nation=nation, local_id=[s[0] for s in specs], t=t, x=np.array([[s[1], s[2], 0.0, 0.0] for s in specs]),
        P=np.tile(np.diag([1e4, 1e4, 100.0, 100.0]), (K, 1, 1)), quality=[10] * K,
        releasable_to=[s[3] for s in specs], cls=[s[4] for s in specs], class_conf=[s[5] for s in specs],
        identity=[s[6] for s in specs],
    )


def test_marking_class_identity_and_members_of_fused_tracks():
    local = rows("AUS", [("a1", 0, 0, ("AUS", "GBR", "JPN", "USA"), "aircraft", 0.6, "unknown"),
                         ("a2", 50_000, 0, ("AUS", "USA"), "unknown", 0.0, "unknown")])
    remote = TrackSet.concat([
        rows("JPN", [("j1", 40, 30, ("AUS", "JPN", "USA"), "cruise", 0.7, "unknown")]),
        rows("USA", [("u1", -20, 10, ("AUS", "GBR", "USA"), "aircraft", 0.3, "a1b2c3"),
                     ("u2", 50_030, -20, ("AUS", "USA"), "ballistic", 0.9, "unknown")]),
    ])
    pic = Fuser("AUS").update(0.0, local, remote)
    i1, i2 = pic.find("AUS:a1"), pic.find("AUS:a2")
    assert pic.find("JPN:j1") == pic.find("USA:u1") == i1 and pic.find("USA:u2") == i2 and pic.find("XXX:1") == -1
    assert pic.sources[i1] == ("AUS:a1", "JPN:j1", "USA:u1")
    assert pic.releasable_to[i1] == ("AUS", "USA")          # the intersection of the three markings
    assert pic.releasable_to[i2] == ("AUS", "USA")
    # aircraft: 0.6 + 0.3 beats cruise 0.7; its confidence is the best single one
    assert pic.cls[i1] == "aircraft" and pic.class_conf[i1] == pytest.approx(0.6)
    assert pic.cls[i2] == "ballistic"                       # a known class beats 'unknown'
    assert pic.identity[i1] == 0xA1B2C3 and pic.identity[i2] == -1
    s, e = pic.member_start[i1], pic.member_start[i1 + 1]
    assert pic.member_weight[s:e].sum() == pytest.approx(1.0)
    assert pic.n_sources.tolist() == [3, 2] and pic.local_index[[i1, i2]].tolist() == [0, 1]


def test_partner_tracks_older_than_max_age_are_not_fused():
    f = Fuser("AUS", FuserConfig(max_age_s=5.0, silence_timeout_s=3.0))
    remote = rows("JPN", [("j1", 0, 0, ("AUS",), "unknown", 0.0, "unknown")], t=0.0)
    assert len(f.update(4.0, TrackSet.empty(2), remote)) == 1
    pic = f.update(6.0, TrackSet.empty(2), remote)
    assert len(pic) == 0 and pic.stale_dropped == 1


def test_partner_tracks_with_unusable_covariances_are_left_out_and_counted():
    good = rows("JPN", [("j1", 0, 0, ("AUS",), "unknown", 0.0, "unknown"), ("j2", 9000, 0, ("AUS",), "unknown", 0.0, "unknown"),
                        ("j3", 20_000, 0, ("AUS",), "unknown", 0.0, "unknown")])
    P = good.P.copy()
    P[1] = np.diag([1e4, -1.0, 100.0, 100.0])      # not positive definite
    P[2, 0, 1] = 500.0                             # not symmetric
    bad = TrackSet(good.nation, good.local_id, good.ntn, good.t, good.x, P, good.quality, good.cls, good.class_conf,
                   good.identity, good.rel_nations, good.rel_mask)
    assert bad.covariance_ok().tolist() == [True, False, False]
    pic = Fuser("AUS").update(0.0, TrackSet.empty(2), bad)
    assert pic.sources == [("JPN:j1",)] and pic.invalid_dropped == 2


def test_empty_inputs_give_an_empty_picture():
    pic = Fuser("AUS").update(0.0, TrackSet.empty(3), TrackSet.empty(3))
    assert len(pic) == 0 and pic.sources == [] and pic.local_ntn.tolist() == []


def test_config_errors_name_the_parameter():
    with pytest.raises(ValueError, match="'gate_on'"):
        FuserConfig(gate_on="velocity")
    with pytest.raises(ValueError, match="'loose_gate_probability'"):
        FuserConfig(gate_probability=0.999, loose_gate_probability=0.99)
    with pytest.raises(ValueError, match="'split_after'"):
        FuserConfig(split_after=0)
    with pytest.raises(ValueError, match="unknown parameter 'gate'"):
        FuserConfig.from_mapping({"gate": 0.9})
    assert FuserConfig.from_mapping({"quality_margin": 3}).quality_margin == 3
    with pytest.raises(ValueError, match="alpha-3"):
        Fuser("Japan")


def scene_gospa(steps=20, seed=0):
    """30 targets; AUS sees 0-19 with errors long in x, JPN sees 10-29 with errors long in y, its
    reports 0.5 s old. Mean GOSPA (c = 1 km, p = 1) of AUS's own picture, JPN's and AUS's fused
    one, over the whole scene and over the overlap (targets 10-19)."""
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(0, 150_000, (30, 2))
    v = rng.uniform(-200, 200, (30, 2))
    aus = SimNation("AUS", np.arange(20), np.diag([300.0**2, 50.0**2, 10.0**2, 10.0**2]), ("AUS", "JPN"), tau_s=5, seed=seed)
    jpn = SimNation("JPN", np.arange(10, 30), np.diag([50.0**2, 300.0**2, 10.0**2, 10.0**2]), ("AUS", "JPN"), tau_s=5, seed=seed + 1)
    f = Fuser("AUS")
    out = {k: [] for k in ("aus", "jpn", "fused", "aus_overlap", "jpn_overlap", "fused_overlap")}
    target_of = lambda keys: np.array([int(k.rsplit("-T", 1)[1]) for k in keys])  # noqa: E731
    for k in range(steps):
        t = float(k)
        la = aus.tracks(cv_truth(p0, v, t), t)
        lj = jpn.tracks(cv_truth(p0, v, t - 0.5), t - 0.5)
        pic = f.update(t, la, lj)
        truth = cv_truth(p0, v, t)[:, :2]
        ov = np.arange(10, 20)
        out["aus"].append(gospa(truth, la.x[:, :2]).gospa)
        out["jpn"].append(gospa(truth, lj.x[:, :2] + 0.5 * lj.x[:, 2:]).gospa)   # its own picture, brought to t
        out["fused"].append(gospa(truth, pic.x[:, :2]).gospa)
        ta, tj = target_of(la.keys), target_of(lj.keys)
        tf = np.array([target_of(s)[0] for s in pic.sources])
        out["aus_overlap"].append(gospa(truth[ov], la.x[np.isin(ta, ov), :2]).gospa)
        out["jpn_overlap"].append(gospa(truth[ov], (lj.x[:, :2] + 0.5 * lj.x[:, 2:])[np.isin(tj, ov)]).gospa)
        out["fused_overlap"].append(gospa(truth[ov], pic.x[np.isin(tf, ov), :2]).gospa)
    return {k: float(np.mean(v)) for k, v in out.items()}, pic


def test_fused_gospa_beats_each_nations_own_picture():
    g, pic = scene_gospa()
    assert sorted(pic.n_sources.tolist()).count(2) == 10          # the overlap fused, nothing else
    assert g["fused"] < min(g["aus"], g["jpn"])
    # where the two overlap, CI of the crossed error ellipses is well below either nation's error
    assert g["fused_overlap"] < 0.6 * min(g["aus_overlap"], g["jpn_overlap"])


def test_docs_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "fusion.md").read_text(), flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "fusion.md example", "exec"), {})


def test_docs_configuration_table_lists_every_parameter_with_its_default():
    text = (DOCS / "fusion.md").read_text()
    table = dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", text, flags=re.M))
    for name, default, _ in FuserConfig.describe():
        assert name in table, name
        assert table[name] == str(default), (name, table[name], default)
