"""``skyweave warn``: track a scenario folder and issue ballistic missile warnings (alerts.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from skyweave.cli.common import Failure, fail, last_time, make_parent, need_dir, progress_bar
from skyweave.io.formats import FormatError

SHOW = 20


def describe(u: dict) -> str:
    """One line of the alert timeline for a person."""
    launch = u.get("launch") or {}
    where = ""
    if launch.get("lat") is not None:
        where = f"launch {launch['lat']:.2f}°N {launch['lon']:.2f}°E at t={launch['t']:.0f} s ({launch.get('source', '')})"
    st = u["status"]
    head = f"t={u['t']:8.1f}  {u['alert_id']:<8} {st.upper():<8}"
    if st == "launch":
        what = f", track {u['track']}" if u.get("track") is not None else ""
        return f"{head} ballistic launch detected{what}: {where}; impact not yet predictable (confidence {u['confidence']:.2f})"
    if st == "boost":
        return f"{head} ballistic missile in boost, track {u.get('track')}: {where}; impact not yet predictable"
    imp = u.get("impact")
    if st == "closed":
        tail = f"closed ({u.get('reason', '')})"
        if u.get("merged_into"):
            tail += f", now {u['merged_into']}"
        if imp:
            tail += f"; last impact estimate {imp['lat']:.3f}°N {imp['lon']:.3f}°E at t={imp['t']:.0f} s"
        return f"{head} {tail}"
    places = ", ".join(u.get("places") or []) or "no populated place"
    return (f"{head} impact {imp['lat']:.3f}°N {imp['lon']:.3f}°E in {u['time_to_impact_s']:.0f} s (t={imp['t']:.0f}), "
            f"95 % ellipse semi-major × semi-minor {imp['semi_major_m'] / 1000:.1f} × {imp['semi_minor_m'] / 1000:.1f} km, "
            f"major axis {imp['orientation_deg']:.0f}° from north; "
            f"{places}; {where}; REL TO {', '.join(u.get('releasable_to') or [])}")


class Timeline:
    """Prints the alert updates a person needs: every change of status, the first impact, then one
    update per alert per ``every_s`` seconds (all of them go to --out and --json)."""

    def __init__(self, every_s: float = 30.0):
        self.every_s = every_s
        self.last: dict[str, tuple[str, float]] = {}

    def wants(self, u: dict) -> bool:
        prev = self.last.get(u["alert_id"])
        if prev is None or prev[0] != u["status"] or u["t"] - prev[1] >= self.every_s:
            self.last[u["alert_id"]] = (u["status"], u["t"])
            return True
        return False


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per alert update (the alerts.jsonl format).")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Also write every alert update to this alerts.jsonl (its folder is created).")
@click.option("--tracks", "tracks_path", type=click.Path(path_type=Path), default=None,
              help="Also write the air picture to this tracks.jsonl (its folder is created).")
@click.option("--prefix", default="SW", show_default=True, help="Alert ids are PREFIX-Wn (a node uses its nation).")
@click.option("--every", "every_s", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Timeline: at most one line per alert this often (s), besides every change of status.")
def warn(folder, as_json, out_path, tracks_path, prefix, every_s):
    """Track FOLDER (sensors.json, detections.jsonl) and warn of ballistic missiles.

    Prints the alert timeline as it happens: launch detected (infrared or a ballistic radar track), impact
    predicted (point, time to impact, 95 % ellipse, populated places inside it), updates, and the
    close at impact. With --json, one JSON object per alert update: t, alert_id, threat, launch
    {lat, lon, t}, impact {lat, lon, t, semi_major_m, semi_minor_m, orientation_deg} (null while
    the impact cannot be predicted yet), time_to_impact_s, places, confidence, releasable_to,
    status (launch, tracking, closed; older files may hold boost).
    """
    from skyweave.node.warn_files import warn_files
    from skyweave.warn.warner import WarnConfig

    need_dir(folder, "FOLDER")
    for name in ("sensors.json", "detections.jsonl"):
        if not (folder / name).is_file():
            raise Failure(f"FOLDER {folder}: has no {name}; give a folder that `skyweave simulate` wrote")
    for path, opt in ((out_path, "--out"), (tracks_path, "--tracks")):
        if path is not None:
            make_parent(path, opt)
    out = open(out_path, "w") if out_path is not None else None
    tl = Timeline(every_s)

    def emit(u):
        line = json.dumps(u)
        if out is not None:
            out.write(line + "\n")
        if as_json:
            click.echo(line)
        elif tl.wants(u):
            click.echo(describe(u))

    total = last_time(folder / "detections.jsonl")
    try:
        with progress_bar(total, f"warning over {folder.name}", enabled=None if (total and not as_json) else False) as update:
            summary = warn_files(folder, emit, warn_config=WarnConfig(alert_prefix=prefix), tracks_out=tracks_path,
                                 progress=update)
    except (FormatError, ValueError, OSError) as e:
        fail(e)
    finally:
        if out is not None:
            out.close()
    for msg in summary["errors"][:SHOW]:
        click.echo(msg, err=True)
    if not as_json:
        click.echo(f"{summary['alerts']} alerts, {summary['alert_updates']} updates ({summary['open']} still open at the end); "
                   f"{summary['ir_cues']} infrared cues, {summary['ballistic_updates']} ballistic measurement updates; "
                   f"{summary['bad_lines']} bad lines; {summary['wall_s']:.1f} s")
