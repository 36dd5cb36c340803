"""``skyweave export parquet JOURNAL --out DIR`` (skyweave/node/journal_export.py), read back with pyarrow."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.test_journal import NATIONS, early_missile, one_error, sky

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install 'skyweave[parquet]')")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("journal_export")
    run, journal, out = root / "run", root / "run.sqlite", root / "pq"
    r = sky("network", "run", early_missile(root), "--out", run, "--duration", 25, "--red-team", 10,
            "--journal", journal, "--json")
    assert r.returncode == 0, r.stderr
    r2 = sky("export", "parquet", journal, "--out", out)
    assert r2.returncode == 0, r2.stderr
    return run, journal, out, r2.stdout


def table(out, name):
    return pq.read_table(out / f"{name}.parquet").to_pylist()


def test_every_record_is_exported_once(exported):
    from skyweave.node.journal import JournalReader, decode_scan

    run, journal, out, said = exported
    r = JournalReader(journal)
    records = table(out, "records")
    assert [row["seq"] for row in records] == [row[0] for row in r.records()]
    assert len(records) == r.count() and f"{r.count():,} journal records" in said
    assert {row["kind"] for row in records} == {"scan", "advance", "tick", "frame", "close", "verdict", "local", "fused", "alert"}
    dets = table(out, "detections")
    assert len(dets) == sum(len(decode_scan(b)) for *_, b in r.records(("scan",)))
    assert len(dets) == len((run / "detections.jsonl").read_text().splitlines())
    assert len(table(out, "frames")) == r.count("frame")
    assert len(table(out, "verdicts")) == r.count("verdict")
    assert len(table(out, "clock")) == r.count("advance") + r.count("tick") + r.count("close")
    pictures = table(out, "picture")
    local = table(out, "local")
    alerts = table(out, "alerts")
    for n in NATIONS:
        lines = (run / n / "picture.jsonl").read_text().splitlines()
        assert len([p for p in pictures if p["nation"] == n and p["tick"]]) == len(lines)
        assert len([p for p in local if p["nation"] == n]) == len((run / n / "local.jsonl").read_text().splitlines())
        assert len([a for a in alerts if a["nation"] == n]) == len((run / n / "alerts.jsonl").read_text().splitlines())
    assert len(alerts) > 0
    r.close()


def test_decoded_columns_hold_the_values(exported):
    run, _, out, _ = exported
    # a detection: the scan's sensor, time and measurements, as in detections.jsonl
    first = json.loads((run / "detections.jsonl").read_text().splitlines()[0])
    dets = table(out, "detections")
    d = next(x for x in dets if x["sensor"] == first["sensor"] and x["t"] == first["t"] and x["index"] == 0)
    measured = [k for k in first if k in d and k not in ("t", "sensor", "nation")]
    assert measured and all(d[k] == first[k] or (math.isnan(d[k]) and first[k] is None) for k in measured)
    # a fused picture's track: every field of its picture.jsonl line
    line = json.loads((run / "JPN" / "picture.jsonl").read_text().splitlines()[-1])
    rows = [p for p in table(out, "picture") if p["nation"] == "JPN" and p["tick"] and p["t"] == line["t"]
            and p["track_id"] == line["track_id"]]
    assert len(rows) == 1
    for k, v in line.items():
        if k not in ("t", "nation"):
            assert rows[0][k] == pytest.approx(v) if isinstance(v, float) else rows[0][k] == v, k
    # frames keep their bytes; verdicts their reasons, refused red-team frames included
    frames = table(out, "frames")
    assert all(f["size"] == len(f["data"]) and f["subject"].startswith(f"skyweave.{f['sender']}.") for f in frames)
    assert any(not v["admitted"] for v in table(out, "verdicts"))
    a = table(out, "alerts")[0]
    assert isinstance(a["alert_id"], str) and isinstance(a["launch_lat"], float)


def test_export_errors_are_one_line(tmp_path, exported):
    _, journal, _, _ = exported
    one_error(sky("export", "parquet", tmp_path / "none.sqlite", "--out", tmp_path / "o"), "none.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a journal\n")
    one_error(sky("export", "parquet", junk, "--out", tmp_path / "o"), "junk.sqlite", "not a skyweave journal")
    one_error(sky("export", "parquet", journal), "--out")
    afile = tmp_path / "afile"
    afile.write_text("")
    one_error(sky("export", "parquet", journal, "--out", afile), "--out", "not a folder")
    # without pyarrow: one line saying which extra to install
    code = ("import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None; "
            "from skyweave.cli.main import main; sys.argv = ['skyweave', 'export', 'parquet', sys.argv[1], '--out', sys.argv[2]]; main()")
    r = subprocess.run([sys.executable, "-c", code, str(journal), str(tmp_path / "o3")], capture_output=True, text=True,
                       timeout=120)
    one_error(r, "skyweave[parquet]")


def test_a_journal_larger_than_one_batch_gives_every_row_once(exported, tmp_path, monkeypatch):
    """Streamed in batches far smaller than the journal, the export holds every row once, and the
    very tables of an export in one batch (the batching changes row groups, not rows or types)."""
    from skyweave.node import journal_export
    from skyweave.node.journal import JournalReader, decode_scan
    from skyweave.node.journal_export import export_parquet

    _, journal, _, _ = exported
    whole = export_parquet(journal, tmp_path / "whole", batch_rows=10**9, batch_bytes=10**12)
    monkeypatch.setattr(journal_export, "ROW_GROUP_ROWS", 300)  # a row group gathers about 3 batches
    small = export_parquet(journal, tmp_path / "small", batch_rows=97, batch_bytes=200_000)
    assert small["files"] == whole["files"] and small["records"] == whole["records"]
    r = JournalReader(journal)
    assert small["records"] == r.count() > 97 * 10
    seqs = [row[0] for row in r.records()]
    assert pq.read_table(tmp_path / "small" / "records.parquet").column("seq").to_pylist() == seqs
    dets = sum(len(decode_scan(b)) for *_, b in r.records(("scan",)))
    r.close()
    assert small["files"]["detections"] == dets
    for name, rows in whole["files"].items():
        a = pq.read_table(tmp_path / "whole" / f"{name}.parquet")
        b = pq.read_table(tmp_path / "small" / f"{name}.parquet")
        assert a.schema == b.schema and a.equals(b), name
        assert b.num_rows == rows
        groups = pq.ParquetFile(tmp_path / "small" / f"{name}.parquet").metadata
        if rows > 300:
            assert groups.num_row_groups > 1, name  # streamed
        assert max(groups.row_group(i).num_rows for i in range(groups.num_row_groups)) <= 300, name
    assert pq.ParquetFile(tmp_path / "whole" / "records.parquet").num_row_groups == 1
    assert not [p for p in (tmp_path / "small").iterdir() if p.name.startswith(".")]  # spill files removed


def test_a_column_of_mixed_kinds_across_batches_is_json_text(tmp_path):
    """A key holding a number in one batch and a string in a later one is JSON text in every row,
    as in one batch; int64 in one batch and double in another is double."""
    from skyweave.node.journal_export import _Table

    tab = _Table("t", tmp_path, batch_rows=2, batch_bytes=10**9)
    for v, w in ((1, 1), (2, 2), ("x", 2.5), (None, 3)):
        tab.add({"seq": 1, "v": v, "w": w})
    assert tab.write(tmp_path / "t.parquet") == 4
    t = pq.read_table(tmp_path / "t.parquet")
    assert str(t.schema.field("v").type) == "string" and str(t.schema.field("w").type) == "double"
    assert t.column("v").to_pylist() == ["1", "2", '"x"', None]
    assert t.column("w").to_pylist() == [1.0, 2.0, 2.5, 3.0]
