"""``skyweave export``: tracks (and alerts) as ASTERIX CAT062, Cursor-on-Target (XML or TAK protobuf), GeoJSON or KML
(docs/interop.md)."""

from __future__ import annotations

from pathlib import Path

import click

from skyweave.cli.common import Failure, fail, make_parent, need_file
from skyweave.core.errors import FormatError
from skyweave.interop.export import (EXPORT_FORMATS, CotSender, MissingExtra, UdpSender, make_writer, merge_stream, read_alerts,
                                     read_track_updates)
from skyweave.io.formats import load_sensors

SHOW = 10


def _hostport(ctx, param, value):
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def _both(*senders):
    """One callable sending to each of ``senders`` that is not None (None if there is none)."""
    live = [s for s in senders if s is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0]
    return lambda data: [s(data) for s in live]


@click.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice((*EXPORT_FORMATS, "parquet")))
@click.argument("tracks", metavar="TRACKS|JOURNAL")
@click.option("--sensors", "sensors_path", type=click.Path(path_type=Path),
              help="sensors.json with the epoch and origin of the tracks (default: sensors.json beside TRACKS).")
@click.option("--alerts", "alerts_path", type=click.Path(path_type=Path), help="alerts.jsonl to export with the tracks.")
@click.option("--out", "out", type=click.Path(path_type=Path), help="File to write.")
@click.option("--send", callback=_hostport, metavar="HOST:PORT",
              help="cot and tak: also stream the events over TCP to a TAK server or client (e.g. localhost:8087); "
                   "tak sends the TAK protocol's stream form.")
@click.option("--udp", callback=_hostport, metavar="HOST:PORT",
              help="cot and tak: also send each event as one UDP datagram, e.g. to TAK's mesh 239.2.3.1:6969 "
                   "(tak sends the mesh form).")
@click.option("--sac", type=click.IntRange(0, 255), default=0, show_default=True, help="cat062: System Area Code.")
@click.option("--sic", type=click.IntRange(0, 255), default=1, show_default=True, help="cat062: System Identification Code.")
def export(fmt, tracks, sensors_path, alerts_path, out, send, udp, sac, sic):
    """Write TRACKS (tracks.jsonl) as FORMAT: cat062 (ASTERIX CAT062 + CAT065), cot (Cursor-on-Target
    XML), tak (the same events as TAK protocol v1 protobuf), geojson or kml; with FORMAT parquet, a
    JOURNAL (an SQLite file or a postgresql:// URL) as Parquet files in the folder --out
    (docs/journal.md, "Export to Parquet"), streamed in bounded memory; one node's journal of a
    `network run --processes` in PostgreSQL is its schema, e.g.
    'postgresql://USER@HOST/DB?options=-csearch_path%3Dskyweave_jpn'.

    Positions are placed on the WGS-84 ellipsoid from the sensors file's origin; times from its
    epoch. Bad lines are reported with their line numbers and skipped.
    """
    if fmt == "parquet":
        _export_parquet(tracks, out, sensors_path=sensors_path, alerts_path=alerts_path, send=send, udp=udp)
        return
    tracks = Path(tracks)
    need_file(tracks, "TRACKS")
    if out is None and send is None and udp is None:
        raise click.UsageError("give --out FILE (or, for cot and tak, --send HOST:PORT or --udp HOST:PORT)")
    for opt, val in (("--send", send), ("--udp", udp)):
        if val is not None and fmt not in ("cot", "tak"):
            raise click.UsageError(f"{opt} streams Cursor-on-Target only: use it with FORMAT cot or tak")
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
    try:
        udp_sender = UdpSender(*udp) if udp else None
    except OSError as e:
        raise Failure(f"--udp {udp[0]}:{udp[1]}: {e.strerror or e}") from None
    if fmt == "cat062":
        kw = {"sac": sac, "sic": sic}
    elif fmt == "cot":
        kw = {"send": _both(sender, udp_sender)}
    elif fmt == "tak":
        kw = {"send": sender, "mesh": udp_sender}
    else:
        kw = {}
    fh = open(out, "wb" if fmt in ("cat062", "tak") else "w") if out is not None else None
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
    except MissingExtra as e:
        raise Failure(str(e)) from None
    except OSError as e:
        where = f"--send {send[0]}:{send[1]}" if send else (f"--udp {udp[0]}:{udp[1]}" if udp and out is None else out)
        raise Failure(f"{where}: {e.strerror or e}") from None
    finally:
        if fh is not None:
            fh.close()
        for snd in (sender, udp_sender):
            if snd is not None:
                snd.close()
    for e in errors[:SHOW]:
        click.echo(f"skipped: {e}", err=True)
    click.echo(f"{updates} updates, {tracks_n} track states, {len(alerts)} alert updates"
               + (f", {len(errors)} bad lines skipped" if errors else "")
               + (f"; wrote {out}" if out else "") + (f"; sent to {send[0]}:{send[1]}" if send else "")
               + (f"; sent to {udp[0]}:{udp[1]} (udp)" if udp else ""))
    if updates == 0 and not alerts:
        raise Failure(f"{tracks}: no track line to export")


def _export_parquet(journal: str, out: Path | None, **unused) -> None:
    """``skyweave export parquet JOURNAL --out DIR`` (:mod:`skyweave.node.journal_export`)."""
    given = [f"--{k.split('_')[0]}" for k, v in unused.items() if v is not None]
    if given:
        raise click.UsageError(f"{', '.join(given)}: not used by FORMAT parquet (it reads a journal)")
    if out is None:
        raise click.UsageError("give --out DIR: the folder the Parquet files go to")
    from skyweave.node.journal import JournalError, is_url
    from skyweave.node.journal_export import export_parquet

    if not is_url(journal):
        need_file(Path(journal), "JOURNAL")
    if out.exists() and not out.is_dir():
        raise Failure(f"--out {out}: exists and is not a folder (parquet writes one file per table into a folder)")
    try:
        s = export_parquet(journal, out)
    except JournalError as e:
        fail(e)
    except OSError as e:
        raise Failure(f"--out {out}: {e.strerror or e}") from None
    files = ", ".join(f"{name} {rows:,}" for name, rows in s["files"].items())
    click.echo(f"{s['records']:,} journal records; wrote {out}/<table>.parquet, rows: {files}")
