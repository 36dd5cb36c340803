"""``skyweave export``: tracks (and alerts) as ASTERIX CAT062, Cursor-on-Target, GeoJSON or KML (docs/interop.md)."""

from __future__ import annotations

from pathlib import Path

import click

from skyweave.cli.common import Failure, fail, make_parent, need_file
from skyweave.core.errors import FormatError
from skyweave.interop.export import EXPORT_FORMATS, CotSender, make_writer, merge_stream, read_alerts, read_track_updates
from skyweave.io.formats import load_sensors

SHOW = 10


def _hostport(ctx, param, value):
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


@click.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice(EXPORT_FORMATS))
@click.argument("tracks", type=click.Path(path_type=Path))
@click.option("--sensors", "sensors_path", type=click.Path(path_type=Path),
              help="sensors.json with the epoch and origin of the tracks (default: sensors.json beside TRACKS).")
@click.option("--alerts", "alerts_path", type=click.Path(path_type=Path), help="alerts.jsonl to export with the tracks.")
@click.option("--out", "out", type=click.Path(path_type=Path), help="File to write.")
@click.option("--send", callback=_hostport, metavar="HOST:PORT",
              help="cot only: also stream the events over TCP to a TAK server or client (e.g. localhost:8087).")
@click.option("--sac", type=click.IntRange(0, 255), default=0, show_default=True, help="cat062: System Area Code.")
@click.option("--sic", type=click.IntRange(0, 255), default=1, show_default=True, help="cat062: System Identification Code.")
def export(fmt, tracks, sensors_path, alerts_path, out, send, sac, sic):
    """Write TRACKS (tracks.jsonl) as FORMAT: cat062 (ASTERIX CAT062 + CAT065), cot, geojson or kml.

    Positions are placed on the WGS-84 ellipsoid from the sensors file's origin; times from its
    epoch. Bad lines are reported with their line numbers and skipped.
    """
    need_file(tracks, "TRACKS")
    if out is None and send is None:
        raise click.UsageError("give --out FILE (or, for cot, --send HOST:PORT)")
    if send is not None and fmt != "cot":
        raise click.UsageError("--send streams Cursor-on-Target only: use it with FORMAT cot")
    sp = sensors_path or tracks.with_name("sensors.json")
    need_file(sp, "--sensors")
    try:
        sensors = load_sensors(sp)
    except FormatError as e:
        fail(e)
    if sensors.origin is None:
        raise Failure(f"{sp}: no origin {{lat, lon, alt}}: export needs it to place the tracks on the earth")
    errors: list = []
    alerts = []
    if alerts_path is not None:
        need_file(alerts_path, "--alerts")
        alerts = read_alerts(alerts_path, errors)
    if out is not None:
        make_parent(out, "--out")
    sender = CotSender(*send) if send else None
    kw = {"sac": sac, "sic": sic} if fmt == "cat062" else ({"send": sender} if fmt == "cot" else {})
    fh = open(out, "wb" if fmt == "cat062" else "w") if out is not None else None
    updates = tracks_n = 0
    try:
        writer = make_writer(fmt, fh, sensors, **kw)
        for kind, item in merge_stream(read_track_updates(tracks, sensors, errors), alerts):
            if kind == "tracks":
                writer.tracks(item)
                updates += 1
                tracks_n += len(item.ids)
            else:
                writer.alert(item)
        writer.close()
    except OSError as e:
        raise Failure(f"{'--send ' + ':'.join(map(str, send)) if send else out}: {e.strerror or e}") from None
    finally:
        if fh is not None:
            fh.close()
        if sender is not None:
            sender.close()
    for e in errors[:SHOW]:
        click.echo(f"skipped: {e}", err=True)
    click.echo(f"{updates} updates, {tracks_n} track states, {len(alerts)} alert updates"
               + (f", {len(errors)} bad lines skipped" if errors else "")
               + (f"; wrote {out}" if out else "") + (f"; sent to {send[0]}:{send[1]}" if send else ""))
    if updates == 0 and not alerts:
        raise Failure(f"{tracks}: no track line to export")
