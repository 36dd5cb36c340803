"""Run real ``nats-server`` processes for tests and benchmarks: one server, or a 3-server cluster.

Each server listens on loopback ports chosen free at start, runs JetStream with its store in a
directory it is given, and is ready when its monitoring endpoint ``/healthz`` says so. Nothing
here is needed in production; docs/messages.md shows the equivalent configuration files.
Test support, not shipped with the package (it was ``skyweave.share.testing``): tests import it
as ``tests.support.natsserver``, benchmarks after putting the repository root on ``sys.path``.

    with NatsServer(tmp_path / "js") as server:
        bus = NatsBus(server.url, nations=["USA", "JPN"])
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["nats_server_binary", "free_port", "NatsServer", "NatsCluster", "cluster_config"]


def nats_server_binary() -> str | None:
    """Path of the ``nats-server`` binary (PATH, then Debian's /usr/sbin), or None."""
    found = shutil.which("nats-server")
    if found:
        return found
    for p in ("/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server"):
        if os.access(p, os.X_OK):
            return p
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class NatsServer:
    """One ``nats-server`` with JetStream on loopback, started and stopped by the caller.

    Parameters
    ----------
    store_dir : JetStream storage directory (kept across :meth:`restart`).
    port, http_port : client and monitoring ports (free ones when None); kept across restarts.
    name : server name (required by JetStream clustering).
    cluster_name, cluster_port, routes : cluster membership (see :class:`NatsCluster`).
    """

    def __init__(
        self,
        store_dir: str | Path,
        *,
        port: int | None = None,
        http_port: int | None = None,
        name: str | None = None,
        cluster_name: str | None = None,
        cluster_port: int | None = None,
        routes: list[str] | None = None,
        host: str = "127.0.0.1",
        binary: str | None = None,
    ):
        self.binary = binary or nats_server_binary()
        if self.binary is None:
            raise FileNotFoundError("nats-server not found: run scripts/services.sh (apt-get install nats-server)")
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.http_port = http_port or free_port(host)
        self.name = name or f"skyweave-{self.port}"
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.routes = list(routes or [])
        self.log_path = self.store_dir.parent / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            self.binary, "-a", self.host, "-p", str(self.port), "-m", str(self.http_port),
            "-n", self.name, "-js", "-sd", str(self.store_dir),
        ]
        if self.cluster_name:
            cmd += ["--cluster_name", self.cluster_name, "--cluster", f"nats://{self.host}:{self.cluster_port}"]
            if self.routes:
                cmd += ["--routes", ",".join(self.routes)]
        return cmd

    def start(self, timeout: float = 10.0, *, wait_js: bool = True) -> "NatsServer":
        """Start the server and wait until it (and, with ``wait_js``, JetStream) is ready."""
        if self.alive:
            return self
        self.store_dir.mkdir(parents=True, exist_ok=True)
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            logf.close()
        self.wait_ready(timeout, wait_js=wait_js)
        return self

    def wait_ready(self, timeout: float = 10.0, *, wait_js: bool = True) -> None:
        """Wait until the client port accepts and ``/healthz`` reports ok (JetStream current)."""
        deadline = time.monotonic() + timeout
        last = "not started"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"nats-server {self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
                if not wait_js:
                    return
                url = f"http://{self.host}:{self.http_port}/healthz"
                with urllib.request.urlopen(url, timeout=0.5) as r:
                    body = json.loads(r.read() or b"{}")
                    if body.get("status") == "ok":
                        return
                    last = str(body)
            except urllib.error.HTTPError as e:
                last = f"healthz {e.code}: {e.read()[:200]!r}"
            except (OSError, ValueError) as e:
                last = repr(e)
            time.sleep(0.05)
        raise TimeoutError(f"nats-server {self.name} not ready after {timeout} s ({last}):\n{self.log_tail()}")

    def stop(self, *, kill: bool = False, timeout: float = 5.0) -> None:
        """Stop the server: SIGTERM (clean), or SIGKILL with ``kill`` (a crash)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None

    def restart(self, *, kill: bool = False, timeout: float = 10.0) -> "NatsServer":
        """Stop and start again on the same ports and store."""
        self.stop(kill=kill)
        return self.start(timeout)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def varz(self, endpoint: str = "jsz") -> dict[str, Any]:
        """A monitoring endpoint's JSON (``varz``, ``jsz``, ``routez``...)."""
        with urllib.request.urlopen(f"http://{self.host}:{self.http_port}/{endpoint}", timeout=2) as r:
            return json.loads(r.read())

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> "NatsServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class NatsCluster:
    """``size`` nats-servers on loopback in one JetStream cluster (full mesh of routes)."""

    def __init__(self, base_dir: str | Path, size: int = 3, *, name: str = "skyweave"):
        base = Path(base_dir)
        cports = [free_port() for _ in range(size)]
        self.servers = [
            NatsServer(
                base / f"n{i}" / "js",
                name=f"n{i}",
                cluster_name=name,
                cluster_port=cports[i],
                routes=[f"nats://127.0.0.1:{p}" for j, p in enumerate(cports) if j != i],
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    @property
    def url(self) -> str:
        """All servers' URLs comma-separated (the ``--nats`` option's form)."""
        return ",".join(self.urls)

    def start(self, timeout: float = 20.0) -> "NatsCluster":
        for s in self.servers:
            s.start(timeout, wait_js=False)
        for s in self.servers:  # JetStream is ready once the meta group has a leader
            s.wait_ready(timeout)
        return self

    def stop(self) -> None:
        for s in self.servers:
            s.stop()

    def __enter__(self) -> "NatsCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def cluster_config(name: str, server_name: str, client_port: int, cluster_port: int, routes: list[str], store_dir: str) -> str:
    """A nats-server configuration file for one member of a JetStream cluster (docs/messages.md)."""
    route_lines = "\n".join(f"    {r}" for r in routes)
    return f"""server_name: {server_name}
listen: 0.0.0.0:{client_port}
http: 8222
jetstream {{
  store_dir: "{store_dir}"
}}
cluster {{
  name: {name}
  listen: 0.0.0.0:{cluster_port}
  routes: [
{route_lines}
  ]
}}
"""
