"""``skyweave serve``: the joint command view, a live web picture per nation (docs/view.md)."""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import threading
from pathlib import Path

import click

from skyweave.cli.common import Failure, make_dir, need_file


def _check_listen(host: str, port: int) -> None:
    """A Failure naming --host/--port when this address cannot be listened on (in use, not ours)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise Failure(f"--host {host}: cannot resolve it ({e})") from None
    fam, _, _, _, addr = infos[0]
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            raise Failure(f"--port {port}: cannot listen on {host}:{port} ({(e.strerror or str(e)).lower()}); "
                          "choose another --port") from None


@click.command()
@click.option("--demo", is_flag=True, help="run the trilateral scenario live through the four-nation network "
                                            "(sped up, looping) with one viewer per nation: jpn, usa, aus, gbr")
@click.option("--demo-password", help="the demo users' password (default: a random one, printed once)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="port to listen on")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="NODE.yaml of one nation's node: run it over NATS as `skyweave node` does and serve its "
                   "picture to that nation's users (with --users)")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path),
              help="replay a recorded run (skyweave network run ... --journal FILE) on a timeline: each "
                   "nation's users see that nation's recorded picture")
@click.option("--tracks", "tracks_path", type=click.Path(dir_okay=False, path_type=Path),
              help="show a tracks file (skyweave track ... --out TRACKS.jsonl) on a timeline, placed by its "
                   "sensors file's origin; its nation's users see it")
@click.option("--sensors", "sensors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="with --tracks: the sensors file the tracks were made over (default: sensors.json beside "
                   "the tracks file)")
@click.option("--detections", "detections_path", type=click.Path(dir_okay=False, path_type=Path),
              help="with --tracks: the detections the tracks were made from (their ADS-B callsigns are shown)")
@click.option("--users", "users_path", type=click.Path(dir_okay=False, path_type=Path),
              help="users file (skyweave users add); with --demo, its users are added to the demo's; "
                   "with --config, the users (only those of the node's nation may log in)")
@click.option("--speed", default=5.0, show_default=True, type=click.FloatRange(min=0.1, max=100.0),
              help="demo: scenario seconds per wall-clock second")
@click.option("--duration", type=click.FloatRange(min=10.0), help="demo: scenario seconds per loop (default: all of it)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="folder for the audit log and server log, with --demo the network's files too "
                   "(default: a temporary folder; with --config the node's 'out')")
@click.option("--session-hours", default=8.0, show_default=True, type=click.FloatRange(min=0.01), help="session lifetime")
@click.option("--classification", default="UNCLASSIFIED // EXERCISE", show_default=True,
              help="the classification banner's text")
def serve(demo, demo_password, host, port, config_path, journal_path, tracks_path, sensors_path, detections_path,
          users_path, speed, duration, out, session_hours, classification):
    """Serve the joint command view: a live map, tracks, alerts and network health per nation.

    Each user belongs to a nation and sees only what that nation's node may see (the server
    filters every answer and frame by nation as well). Open http://HOST:PORT and log in.

    --demo serves the four nations of the live demo network; --config NODE.yaml --users FILE runs
    one nation's node over NATS as `skyweave node` does and serves its picture to that nation's
    users; --journal FILE replays a recorded run on a timeline; --tracks TRACKS.jsonl shows a
    tracks file (skyweave track's output) on the same timeline (docs/view.md).
    """
    ctx = click.get_current_context()
    given = [f"--{p.replace('_', '-')}" for p in ("speed", "duration")
             if ctx.get_parameter_source(p) is not click.core.ParameterSource.DEFAULT]
    if tracks_path is None and (sensors_path is not None or detections_path is not None):
        raise click.UsageError("--sensors and --detections go with --tracks TRACKS.jsonl")
    if tracks_path is not None:
        if demo or config_path is not None or journal_path is not None:
            raise click.UsageError("--tracks and --demo/--config/--journal: give one")
        if given:
            raise click.UsageError(f"{', '.join(given)}: only with --demo (a tracks file's speed is set on its timeline)")
        from skyweave.node.journal import JournalError
        from skyweave.web.replay import ReplayStore

        need_file(tracks_path, "--tracks")
        if sensors_path is None:
            sensors_path = tracks_path.parent / "sensors.json"
            if not sensors_path.is_file():
                raise Failure(f"--tracks {tracks_path}: no sensors.json beside it; give --sensors S.json "
                              "(the sensors file the tracks were made over)")
        _check_password(demo_password)
        try:
            store = ReplayStore.from_tracks(tracks_path, sensors_path, detections_path=detections_path)
        except JournalError as e:
            raise Failure(str(e)) from None
        return serve_replay(tracks_path, users_path, demo_password, host, port, out, session_hours, classification,
                            store=store)
    if journal_path is not None:
        if demo or config_path is not None:
            raise click.UsageError("--journal and --demo/--config: give one (a recorded run, the demo, or a node)")
        if given:
            raise click.UsageError(f"{', '.join(given)}: only with --demo (a replay's speed is set on its timeline)")
        return serve_replay(journal_path, users_path, demo_password, host, port, out, session_hours, classification)
    if config_path is not None:
        if demo:
            raise click.UsageError("--config and --demo: give one (a node of your own, or the demo network)")
        demo_only = [f"--{p.replace('_', '-')}" for p in ("demo_password", "speed", "duration")
                     if ctx.get_parameter_source(p) is not click.core.ParameterSource.DEFAULT]
        if demo_only:
            raise click.UsageError(f"{', '.join(demo_only)}: only with --demo (a node's pace is 'speed' in its NODE.yaml)")
        if users_path is None:
            raise click.UsageError("--config needs --users FILE: the users who may log in "
                                   "(skyweave users add NAME --nation NATION --file FILE)")
        return serve_node(config_path, users_path, host, port, out, session_hours, classification)
    if not demo:
        raise click.UsageError("nothing to serve: give --demo (the live trilateral network), --config NODE.yaml "
                               "--users FILE, --journal FILE (a recorded run) or --tracks TRACKS.jsonl")
    from skyweave.web.users import MIN_PASSWORD, UserStore

    if demo_password is not None and len(demo_password) < MIN_PASSWORD:
        raise click.BadParameter(f"at least {MIN_PASSWORD} characters", param_hint="--demo-password")
    _check_listen(host, port)
    import uvicorn

    from skyweave.web.app import ViewServer, create_app
    from skyweave.web.demo import DEMO_NATIONS, DemoNetwork
    from skyweave.web.users import AuditLog, Sessions
    from skyweave.web.view import NationView

    if out is None:
        out = Path(tempfile.mkdtemp(prefix="skyweave-view-"))
    out = make_dir(out, "--out")
    # the nodes' log (the red team's rejected frames among it) goes to a file; the health panel shows the counts
    logging.basicConfig(filename=str(out / "server.log"), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    users = UserStore()
    printed = demo_password is None
    password = demo_password or secrets.token_urlsafe(9)
    for n in DEMO_NATIONS:
        users.add(n.lower(), n, "viewer", password)
    if users_path is not None:
        if not users_path.is_file():
            raise Failure(f"--users {users_path}: no such file; create it with skyweave users add")
        try:
            extra = UserStore(users_path)
        except ValueError as e:
            raise Failure(str(e)) from None
        users.merge(extra)
    views = {n: NationView(n) for n in DEMO_NATIONS}
    server = ViewServer(views, users, sessions=Sessions(session_hours * 3600.0), audit=AuditLog(out / "audit.jsonl"),
                        speed=speed, classification=classification)
    net = DemoNetwork(views, out / "network", speed=speed, duration=duration).start()
    url = f"http://{host}:{port}"
    click.echo(f"skyweave joint command view: {url}")
    click.echo(f"  logins: {', '.join(n.lower() for n in DEMO_NATIONS)} (one per nation)" +
               (f", password: {password}  (shown once)" if printed else ", password as given"))
    click.echo(f"  network files, audit log and server log: {out}   (Ctrl-C stops)")
    try:
        uvicorn.run(create_app(server), host=host, port=port, log_level="warning", ws_ping_interval=20.0)
    finally:
        net.stop()
        server.audit.close()


def load_users(users_path: Path):
    """The users of a ``skyweave users`` file (a Failure naming it when it is missing or bad)."""
    from skyweave.web.users import UserStore

    if not users_path.is_file():
        raise Failure(f"--users {users_path}: no such file; create it with skyweave users add")
    try:
        return UserStore(users_path)
    except ValueError as e:
        raise Failure(str(e)) from None


class NodeRunner:
    """A node's replay (:meth:`skyweave.node.node_config.LiveNode.run`) on a thread of its own
    while the web server runs on the main one; ``on_error`` is called when the replay fails."""

    def __init__(self, live, on_error):
        self.live = live
        self.on_error = on_error
        self.stop = threading.Event()
        self.error: str | None = None
        self.summary: dict | None = None
        self.thread = threading.Thread(target=self._run, name=f"node-{live.setup.nation}", daemon=True)

    def _run(self) -> None:
        from skyweave.cli.common import describe_error

        nation = self.live.setup.nation
        try:
            self.summary = self.live.run(stop=self.stop)
        except Exception as e:  # the server stops and says why
            self.error = describe_error(e) if isinstance(e, (OSError, ValueError)) else f"{type(e).__name__}: {e}"
            logging.getLogger("skyweave.serve").exception("node %s failed", nation)
            self.on_error()
            return
        for err in self.live.errors[:20]:
            click.echo(str(err), err=True)
        click.echo(json.dumps(self.summary))
        if not self.stop.is_set():
            click.echo(f"skyweave serve: node {nation} has replayed its detections; its last picture stays on view "
                       "(Ctrl-C stops)", err=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve_node(config_path: Path, users_path: Path, host: str, port: int, out: Path | None, session_hours: float,
               classification: str) -> None:
    """``serve --config``: one nation's node over NATS, as ``skyweave node`` runs it, with its view
    attached as sinks; the users of its nation log in to see its picture."""
    import signal

    import uvicorn

    from skyweave.node.node_config import NodeSetup, NodeSetupError
    from skyweave.web.app import ViewServer, create_app
    from skyweave.web.users import AuditLog, Sessions
    from skyweave.web.view import NationView

    users = load_users(users_path)
    try:
        setup = NodeSetup.prepare(config_path)
    except NodeSetupError as e:
        raise Failure(str(e)) from None
    nation = setup.nation
    own = [u.user for u in users.list() if u.nation == nation]
    if not own:
        raise Failure(f"--users {users_path}: no user of {nation}, the nation of the node in {config_path}; "
                      f"add one: skyweave users add NAME --nation {nation} --file {users_path}")
    _check_listen(host, port)
    view = NationView(nation)
    try:
        sinks = view.sinks(setup.sensors)
    except ValueError as e:
        raise Failure(f"{config_path}: {e}") from None
    out = make_dir(out if out is not None else setup.out, "--out")
    try:
        live = setup.start(sinks, say=lambda msg: click.echo(msg, err=True))
    except NodeSetupError as e:
        for sink in sinks:
            sink.close()  # the view's delivery thread
        raise Failure(str(e)) from None
    logging.basicConfig(filename=str(out / "server.log"), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    journaled = getattr(live, "journaled", None)  # NODE.yaml 'journal': the operators' identities go to it too
    server = ViewServer({nation: view}, users, sessions=Sessions(session_hours * 3600.0),
                        audit=AuditLog(out / "audit.jsonl"), speed=setup.speed if setup.speed > 0 else 1.0,
                        classification=classification, journal=journaled.journal if journaled is not None else None)
    web = uvicorn.Server(uvicorn.Config(create_app(server), host=host, port=port, log_level="warning",
                                       ws_ping_interval=20.0))
    runner = NodeRunner(live, on_error=lambda: setattr(web, "should_exit", True))
    url = f"http://{host}:{port}"
    click.echo(f"skyweave joint command view: {url}  (node {nation}, NATS {setup.url})")
    click.echo(f"  logins: {', '.join(own)} (users of {nation} in {users_path}; no other nation's)")
    click.echo(f"  node files: {setup.out}; audit log and server log: {out}   (Ctrl-C stops)")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # uvicorn re-raises it after its shutdown: stop as for Ctrl-C
    runner.thread.start()
    try:
        web.run()
    except KeyboardInterrupt:
        pass
    except SystemExit:  # uvicorn could not start (its error is logged); said below
        pass
    finally:
        runner.stop.set()
        runner.thread.join(30.0)
        server.audit.close()
        signal.signal(signal.SIGTERM, previous)
    if runner.error is not None:
        raise Failure(f"node {nation} ({config_path}) stopped: {runner.error}")
    if not web.started:
        raise Failure(f"--port {port}: the web server did not start on {host}:{port} (the reason is above); "
                      "choose another --port")


def _check_password(password: str | None) -> None:
    from skyweave.web.users import MIN_PASSWORD

    if password is not None and len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"at least {MIN_PASSWORD} characters", param_hint="--demo-password")


def serve_replay(journal_path: Path, users_path: Path | None, password: str | None, host: str, port: int,
                 out: Path | None, session_hours: float, classification: str, store=None) -> None:
    """``serve --journal``: a recorded run on a timeline; each nation's users see its own records.
    Without --users, one viewer per recorded nation (its name in lower case) whose password is
    --demo-password or a random one printed once. ``store``: a ReplayStore already read (``serve
    --tracks``: a tracks file's), else the journal at ``journal_path`` is read."""
    import uvicorn

    from skyweave.node.journal import JournalError
    from skyweave.web.app import ViewServer, create_app
    from skyweave.web.replay import ReplayStore
    from skyweave.web.users import AuditLog, Sessions, UserStore

    _check_password(password)
    if store is None:
        try:
            store = ReplayStore(journal_path)
        except JournalError as e:
            raise Failure(str(e)) from None
    if users_path is not None:
        users = load_users(users_path)
        logins = [u.user for u in users.list() if u.nation in store.nations]
        if not logins:
            raise Failure(f"--users {users_path}: no user of a nation {journal_path} records ({', '.join(store.nations)})")
        printed = False
    else:
        users = UserStore()
        printed = password is None
        password = password or secrets.token_urlsafe(9)
        for n in store.nations:
            users.add(n.lower(), n, "viewer", password)
        logins = [n.lower() for n in store.nations]
    _check_listen(host, port)
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="skyweave-replay-"))
    out = make_dir(out, "--out")
    server = ViewServer({}, users, sessions=Sessions(session_hours * 3600.0), audit=AuditLog(out / "audit.jsonl"),
                        classification=classification, replay=store)
    url = f"http://{host}:{port}"
    click.echo(f"skyweave joint command view, replaying {journal_path} "
               f"({store.start:.0f}-{store.end:.0f} s of {', '.join(store.nations)}): {url}")
    click.echo(f"  logins: {', '.join(logins)}" + (f", password: {password}  (shown once)" if printed else ""))
    click.echo(f"  audit log: {out / 'audit.jsonl'}   (Ctrl-C stops)")
    try:
        uvicorn.run(create_app(server), host=host, port=port, log_level="warning", ws_ping_interval=20.0)
    finally:
        server.audit.close()
