"""TrackSet construction and validation, markings as bit masks, identity codes, time alignment."""

import numpy as np
import pytest

from skyweave.fuse.align import predict_to
from skyweave.fuse.trackset import (
    TrackSet,
    decode_markings,
    encode_markings,
    identity_codes,
    identity_text,
    intersect_markings,
    remap_markings,
)
from skyweave.track.motion import ConstantVelocity
from skyweave.track.tracker import Frame


def make(nation, ids, t=0.0, rel=("AUS", "JPN"), dims=2, **kw):
    n = 2 * dims
    K = len(ids)
    return TrackSet.from_lists(nation=nation, local_id=ids, t=t, x=np.arange(K * n, dtype=float).reshape(K, n),
                               P=np.tile(np.eye(n), (K, 1, 1)), releasable_to=rel, **kw)


def test_from_lists_columns_and_keys():
    ts = make("JPN", ["T-1", "T-2"], t=[1.0, 2.0], ntn=["", "JPN-N00003"], quality=[9, 12], cls=["aircraft", "unknown"],
              class_conf=[0.9, 0.0], identity=["86d2a1", "unknown"])
    assert len(ts) == 2 and ts.dims == 2
    assert ts.keys.tolist() == ["JPN:T-1", "JPN:T-2"]
    assert ts.ntn.tolist() == ["", "JPN-N00003"]
    assert ts.identity.tolist() == [0x86D2A1, -1]
    assert ts.releasable_to == [("AUS", "JPN"), ("AUS", "JPN")]
    assert ts.take([1]).local_id.tolist() == ["T-2"]
    assert ts.with_ntn(["A", "B"]).ntn.tolist() == ["A", "B"]


def test_validation_names_the_field():
    with pytest.raises(ValueError, match="'x'"):
        TrackSet.from_lists(nation="JPN", local_id=["a"], t=0, x=np.zeros((1, 5)), P=np.zeros((1, 5, 5)))
    with pytest.raises(ValueError, match="'local_id'"):
        TrackSet.from_lists(nation="JPN", local_id=["a", "b"], t=0, x=np.zeros((1, 4)), P=np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="'quality'"):
        make("JPN", ["a"], quality=[16])
    with pytest.raises(ValueError, match="non-finite"):
        TrackSet.from_lists(nation="JPN", local_id=["a"], t=0, x=np.full((1, 4), np.nan), P=np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="releasable_to of track 0"):
        make("JPN", ["a"], rel=("uk",))


def test_from_tracker_frame():
    fr = Frame(5.0, ["T-1", "T-7"], np.ones((2, 6)), np.tile(np.eye(6), (2, 1, 1)), np.array([11, 4], np.int8),
               np.array([-1, 0xABCDEF]), np.zeros(2, np.uint64), np.arange(2))
    ts = TrackSet.from_frame(fr, "AUS", ("AUS", "USA"))
    assert ts.dims == 3 and ts.t.tolist() == [5.0, 5.0] and ts.quality.tolist() == [11, 4]
    assert ts.identity.tolist() == [-1, 0xABCDEF] and ts.keys.tolist() == ["AUS:T-1", "AUS:T-7"]
    assert len(TrackSet.from_frame(Frame(1.0, [], np.zeros((0, 4)), np.zeros((0, 4, 4)), np.zeros(0), np.zeros(0),
                                         np.zeros(0), np.zeros(0)), "AUS")) == 0


def test_concat_re_expresses_markings_over_one_vocabulary():
    a = make("AUS", ["1"], rel=("AUS", "GBR"))
    b = make("USA", ["2", "3"], rel=[("JPN", "USA"), ()])
    c = TrackSet.concat([a, b])
    assert c.rel_nations == ("AUS", "GBR", "JPN", "USA")
    assert c.releasable_to == [("AUS", "GBR"), ("JPN", "USA"), ()]
    with pytest.raises(ValueError, match="state size"):
        TrackSet.concat([a, make("JPN", ["x"], dims=3)])


def test_markings_round_trip_and_intersection_beyond_64_nations():
    codes = [f"X{a}{b}" for a in "ABCDEFGHIJ" for b in "ABCDEFGHIJ"]  # 100 user-assigned codes: 2 words
    rng = np.random.default_rng(0)
    marks = [tuple(sorted(set(rng.choice(codes, 30).tolist()))) for _ in range(40)]
    vocab, mask = encode_markings(marks)
    assert mask.shape == (40, 2)
    assert decode_markings(vocab, mask) == marks
    group = rng.integers(0, 6, 40)
    got = decode_markings(vocab, intersect_markings(mask, group, 7))
    for g in range(7):
        members = [set(marks[i]) for i in np.flatnonzero(group == g)]
        want = tuple(sorted(set.intersection(*members))) if members else ()
        assert got[g] == want
    wider = tuple(sorted(set(vocab) | {"XZZ", "AAA"}))
    assert decode_markings(wider, remap_markings(vocab, mask, wider)) == marks


def test_identity_codes():
    got = identity_codes(["86D2A1", "unknown", "", None, "BAW123", "BAW123", 0x1234, -1])
    assert got[0] == 0x86D2A1 and got[1] == got[2] == got[3] == -1
    assert got[4] == got[5] and got[4] >= 1 << 61           # other text: a stable hash, never an ICAO value
    assert got[6] == 0x1234 and got[7] == -1
    assert identity_text(0x86D2A1) == "86d2a1" and identity_text(-1) == "unknown"


def test_predict_to_matches_the_cv_model_and_handles_reports_from_the_future():
    rng = np.random.default_rng(1)
    K = 5
    x = rng.normal(size=(K, 6)) * 100
    A = rng.normal(size=(K, 6, 6))
    P = A @ np.swapaxes(A, 1, 2) + np.eye(6)
    tt = np.array([0.0, 1.0, 2.5, 3.0, 4.0])
    xp, Pp = predict_to(3.0, tt, x, P, q=50.0)
    xr, Pr = ConstantVelocity(d=3, q=50.0).predict(x[:4], P[:4], 3.0 - tt[:4])
    assert np.allclose(xp[:4], xr) and np.allclose(Pp[:4], Pr)
    assert np.allclose(xp[3], x[3]) and np.allclose(Pp[3], P[3])     # already at t
    # retrodiction by 1 s: positions go back along the velocity, covariance stays positive definite
    assert np.allclose(xp[4, :3], x[4, :3] - x[4, 3:])
    assert np.linalg.eigvalsh(Pp[4]).min() > 0
    assert np.linalg.eigvalsh(Pp[4] - ConstantVelocity(d=3, q=0.0).predict(x[4:], P[4:], np.array([-1.0]))[1][0]).min() >= -1e-9
