"""Run real ``nats-server`` processes for tests and benchmarks: one server, or a 3-server cluster.

Each server listens on loopback ports chosen free at start, runs JetStream with its store in a
directory it is given, and is ready when its monitoring endpoint ``/healthz`` says so. Nothing
here is needed in production; docs/messages.md shows the equivalent configuration files.
Test support, not shipped with the package (it was ``skyweave.share.testing``): tests import it
as ``tests.support.natsserver``, benchmarks after putting the repository root on ``sys.path``.

    with NatsServer(tmp_path / "js") as server:
        bus = NatsBus(server.url, nations=["USA", "JPN"])

A secured server (docs/messages.md, "Securing the bus"): TLS with a test CA made here
(:func:`make_test_pki`), one user per nation with :func:`skyweave.share.natsbus.nation_permissions`,
an admin user, no anonymous access:

    pki = make_test_pki(tmp_path / "pki")
    secure = SecureSetup(pki, users={"USA": ("usa", "pw1"), ...}, admin=("admin", "pw0"))
    with NatsServer(tmp_path / "js", secure=secure) as server:   # server.url is tls://...
        ...
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "nats_server_binary", "free_port", "NatsServer", "NatsCluster", "cluster_config", "TestPki", "make_test_pki",
    "SecureSetup", "secure_config",
]


@dataclass(frozen=True)
class TestPki:
    """Paths of a test CA and a server certificate (for 127.0.0.1 and localhost) signed by it."""

    __test__ = False  # not a pytest test class
    ca: Path
    cert: Path
    key: Path


def make_test_pki(directory: str | Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), days: int = 2) -> TestPki:
    """Write ``ca.pem``, ``server.pem`` and ``server.key`` (ECDSA P-256) into ``directory``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skyweave test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = TestPki(d / "ca.pem", d / "server.pem", d / "server.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    os.chmod(pki.key, 0o600)
    return pki


@dataclass
class SecureSetup:
    """TLS, one user per nation (nation -> (user, password)), an admin, and the nodes' durable names."""

    pki: TestPki
    users: dict[str, tuple[str, str]]
    admin: tuple[str, str]
    durables: dict[str, list[str]] = field(default_factory=dict)


def secure_config(secure: SecureSetup, *, name: str, host: str, port: int, http_port: int, store_dir: str | Path) -> str:
    """A nats-server configuration file: TLS on the client port, users with permissions, JetStream."""
    from skyweave.share.natsbus import authorization_config

    return f"""server_name: {name}
listen: {host}:{port}
http: {host}:{http_port}
jetstream {{
  store_dir: "{store_dir}"
}}
tls {{
  cert_file: "{secure.pki.cert}"
  key_file: "{secure.pki.key}"
  ca_file: "{secure.pki.ca}"
  timeout: 2
}}
{authorization_config(secure.users, secure.admin, durables=secure.durables)}"""


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
        secure: SecureSetup | None = None,
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
        self.secure = secure
        self.config_path = self.store_dir.parent / f"{self.name}.conf"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.secure else 'nats'}://{self.host}:{self.port}"

    def command(self) -> list[str]:
        if self.secure is not None:
            self.config_path.write_text(secure_config(
                self.secure, name=self.name, host=self.host, port=self.port, http_port=self.http_port,
                store_dir=self.store_dir,
            ))
            return [self.binary, "-c", str(self.config_path)]
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
