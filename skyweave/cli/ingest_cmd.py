"""``skyweave ingest``: a recording of ASTERIX, Beast, AVR or SBS-1 as detections.jsonl (docs/interop.md)."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import click

from skyweave.cli.common import Failure, fail, make_parent, need_file
from skyweave.core.errors import FormatError
from skyweave.interop.ingest import FORMATS, UNKNOWN_NATION, Ingest, IngestConfig, format_det
from skyweave.interop.records import Tally
from skyweave.io.formats import NATION_RE, load_sensors, write_sensors

#: how many skipped records are printed in full (all are counted in the summary)
SHOW = 10
#: a live stream in place of FILE: tcp://HOST:PORT (beast, avr, sbs) or udp://[HOST]:PORT (asterix)
LIVE = re.compile(r"^(tcp|udp)://(\[[^\]]*\]|[^:/]*):(\d{1,5})$")


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


@click.command(epilog="""Formats:
  asterix  raw ASTERIX blocks or a libpcap capture of their UDP stream (CAT048, CAT021, CAT034)
  beast    dump1090's Beast binary output (port 30005)
  avr      AVR hex lines (port 30002): *HEX; @TIMESTAMPHEX; <TIMESTAMPSIGNALHEX;
  sbs      SBS-1 BaseStation CSV (port 30003)""")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMATS))
@click.argument("file")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="detections.jsonl to write.")
@click.option("--sensors", "sensors_path", type=click.Path(path_type=Path),
              help="sensors.json naming the radars (by \"sac\"/\"sic\") and the ADS-B sensor; its epoch is the time origin.")
@click.option("--radar-lat", type=click.FloatRange(-90, 90), help="Radar latitude (deg), when no sensors file names it.")
@click.option("--radar-lon", type=click.FloatRange(-180, 180), help="Radar longitude (deg).")
@click.option("--radar-alt", type=float, default=0.0, show_default=True, help="Radar altitude (m above the ellipsoid).")
@click.option("--date", "day", callback=_date, help="UTC date of the recording (YYYY-MM-DD): ASTERIX carries the time of day only.")
@click.option("--sensors-out", type=click.Path(path_type=Path),
              help="Where to write the sensors.json made up from the data (default: sensors.json beside --out).")
@click.option("--nation", default=UNKNOWN_NATION, show_default=True, help="Nation of the sensors made up from the data.")
@click.option("--sensor-id", help="Id of the sensor made up from the data (default R<SAC>-<SIC> or ADSB).")
@click.option("--sigma-range-m", type=click.FloatRange(min=0, min_open=True), default=70.0, show_default=True,
              help="Range noise (1-σ, m) of a radar placed by --radar-lat/--radar-lon.")
@click.option("--sigma-bearing-deg", type=click.FloatRange(min=0, min_open=True), default=0.08, show_default=True,
              help="Azimuth noise (1-σ, deg) of that radar.")
@click.option("--ref-lat", type=click.FloatRange(-90, 90), help="Receiver latitude (deg): decode single ADS-B positions locally.")
@click.option("--ref-lon", type=click.FloatRange(-180, 180), help="Receiver longitude (deg).")
@click.option("--start", "start_s", type=float, default=0.0, show_default=True,
              help="Time (s since the epoch) of the first frame of a stream timed by a receiver counter (Beast, @ AVR).")
@click.option("--sbs-sigma-m", type=click.FloatRange(min=0, min_open=True), default=100.0, show_default=True,
              help="95 % horizontal bound (m) assumed for SBS-1 positions, which carry no accuracy.")
@click.option("--reorder-s", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Hold each detection this long (s of data time) to put a sensor's reports in time order.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0, min_open=True),
              help="A live stream: stop after this many seconds (default: when the stream ends, or on Ctrl-C).")
@click.option("--quiet", is_flag=True, help="Print the summary only, not the first skipped records.")
def ingest(fmt, file, out, sensors_path, radar_lat, radar_lon, radar_alt, day, sensors_out, nation, sensor_id,
           sigma_range_m, sigma_bearing_deg, ref_lat, ref_lon, start_s, sbs_sigma_m, reorder_s, duration_s, quiet):
    """Decode FILE (FORMAT: asterix, beast, avr, sbs) into detections.jsonl with honest covariances.

    FILE is a recording, or a live stream: tcp://HOST:PORT for beast (dump1090 port 30005), avr
    (30002) and sbs (30003), udp://[HOST]:PORT for asterix (the port its datagrams come to; HOST
    empty: every interface). A live stream's detections are written as they come, until the
    stream ends, --duration passes, or Ctrl-C.

    Bad records are reported with their byte offset or line number and skipped; the good records
    around them are kept. A summary says how many records were read, decoded and skipped (by
    reason). Without --sensors, a sensors.json for the sensors heard is written beside --out.
    """
    live = LIVE.match(file)
    if live is None:
        if duration_s is not None:
            raise click.UsageError("--duration is for a live stream (tcp://HOST:PORT or udp://[HOST]:PORT)")
        file = Path(file)
        need_file(file, "FILE")
    elif (live.group(1) == "udp") != (fmt == "asterix"):
        raise click.BadParameter(f"{fmt} streams come over {'udp' if fmt == 'asterix' else 'tcp'}://, not {live.group(1)}://",
                                 param_hint="FILE")
    if (radar_lat is None) != (radar_lon is None):
        raise click.UsageError("give both --radar-lat and --radar-lon, or neither")
    if (ref_lat is None) != (ref_lon is None):
        raise click.UsageError("give both --ref-lat and --ref-lon, or neither")
    if not NATION_RE.match(nation):
        raise click.BadParameter(f"an ISO 3166-1 alpha-3 code such as JPN, got {nation!r}", param_hint="--nation")
    if sensors_path is not None and radar_lat is not None:
        raise click.UsageError("--sensors and --radar-lat/--radar-lon both place the radar: give one")
    sensors = None
    if sensors_path is not None:
        need_file(sensors_path, "--sensors")
        try:
            sensors = load_sensors(sensors_path)
        except FormatError as e:
            fail(e)
    cfg = IngestConfig(sensors=sensors, radar=(radar_lat, radar_lon, radar_alt) if radar_lat is not None else None,
                       day=day, start_s=start_s, nation=nation, sensor_id=sensor_id, sigma_range_m=sigma_range_m,
                       sigma_bearing_deg=sigma_bearing_deg,
                       reference=(ref_lat, ref_lon) if ref_lat is not None else None, sbs_sigma_m=sbs_sigma_m, reorder_s=reorder_s,
                       name=str(file))
    tally = Tally()
    job = Ingest(cfg, tally)
    make_parent(out, "--out")
    if live is None:
        dets = job.run(fmt, file.read_bytes())
    else:
        dets = _live_dets(job, fmt, live, duration_s)
    try:
        with open(out, "w", buffering=(1 << 20) if live is None else 1) as f:
            write = f.write
            try:
                for d in dets:
                    write(format_det(d))
            except KeyboardInterrupt:  # a live stream stopped by the user: keep what came
                click.echo("stopped (Ctrl-C)", err=True)
    except ValueError as e:
        raise Failure(str(e)) from None
    except OSError as e:
        raise Failure(f"{file}: {e.strerror or e}") from None
    if not quiet:
        for err in tally.errors[:SHOW]:
            click.echo(f"skipped: {err}", err=True)
        if len(tally.errors) > SHOW or sum(tally.skipped.values()) > SHOW:
            click.echo(f"skipped: ... {sum(tally.skipped.values()) - min(SHOW, len(tally.errors))} more", err=True)
    click.echo(tally.summary())
    if job.markers:
        click.echo("radar markers: " + ", ".join(f"{k}: {v}" for k, v in sorted(job.markers.items())))
    if job.relative_clock:
        click.echo(f"times: seconds since the first frame + {start_s:g} s (the receiver's counter has no date)")
    if sensors is None:
        if tally.detections == 0:
            raise Failure(f"{file}: no detection decoded, so no sensors.json was written (see the summary above)")
        target = sensors_out or out.with_name("sensors.json")
        make_parent(target, "--sensors-out")
        write_sensors(target, job.sensors())
        click.echo(f"wrote {out} and {target}")
    else:
        click.echo(f"wrote {out}")
    if tally.detections == 0:
        raise Failure(f"{file}: no detection decoded (see the summary above)")


def _live_dets(job: Ingest, fmt: str, live: re.Match, duration_s: float | None):
    """The detections of a live stream (skyweave.interop.live), stopping after ``duration_s``."""
    from skyweave.interop.live import AsterixUdpSource, BeastTcpSource, LineTcpSource

    host, port = live.group(2).strip("[]"), int(live.group(3))
    if not 0 < port < 65536:
        raise click.BadParameter(f"port {port} is not 1-65535", param_hint="FILE")
    until = None if duration_s is None else time.monotonic() + duration_s
    try:
        if fmt == "asterix":
            # no --duration: wait for datagrams until Ctrl-C (a radar's stream has no end)
            src = AsterixUdpSource(job, host or "0.0.0.0", port, until=until,
                                   idle_s=duration_s + 1.0 if duration_s is not None else 1e9)
        elif fmt == "beast":
            src = BeastTcpSource(job, host or "127.0.0.1", port, until=until)
        else:
            src = LineTcpSource(job, fmt, host or "127.0.0.1", port, until=until)
    except OSError as e:
        raise Failure(f"{live.group(0)}: {e.strerror or e}") from None
    return src.dets()

