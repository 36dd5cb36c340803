"""`skyweave demo` end to end (shortened): simulate, validate, the four-nation network, alerts."""

import json

from click.testing import CliRunner

from skyweave.cli.main import main


def test_demo_runs_the_network_and_prints_the_pictures_and_alerts(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--text", "--out", str(out), "--duration", "330"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "each nation's picture, its own and fused" in r.output and "missile warnings" in r.output
    assert "the red team sent" in r.output and "none reached a picture" in r.output
    # what the figures mean is printed with them
    assert "for the whole picture (not per target)" in r.output and "95 % ellipse semi-major × semi-minor" in r.output
    # refused frames: one table by reason, each frame in rejected.log, not one line each on the terminal
    assert "frames refused by each receiving node, by reason" in r.output and "rejected message" not in r.output
    refused = sum(sum(json.loads((out / n / "status.json").read_text())["rejected"].values()) for n in ("JPN", "USA", "AUS", "GBR"))
    assert len((out / "rejected.log").read_text().splitlines()) == refused
    assert not [ln for ln in r.output.splitlines() if len(ln) > 200 and "│" in ln]  # tables fit, none cut
    for nation in ("JPN", "USA", "AUS"):
        lines = (out / nation / "local.jsonl").read_text().splitlines()
        assert lines, nation
        assert json.loads(lines[0])["track_id"].startswith(nation + "-")
        status = json.loads((out / nation / "status.json").read_text())
        assert sum(status["rejected"].values()) > 0  # the red team's frames, each refused
        assert not any("RED-" in x for x in (out / nation / "picture.jsonl").read_text().splitlines())
    # BM1 (launch 200 s) is seen by the USA node's space-based infrared: its launch alert is printed
    assert "LAUNCH" in r.output
    # GBR's ship joins at 900 s: nothing of its own yet, but it sees its partners' tracks
    assert (out / "GBR" / "local.jsonl").read_text() == ""
    assert (out / "GBR" / "picture.jsonl").read_text()
