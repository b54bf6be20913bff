"""The servers the benchmark compares, all started the same way: ours and three peers.

    ours        bench/tls13_server.py --engine ours      our TLS 1.3, our loop and HTTP
    stdlib-ssl  bench/tls13_server.py --engine openssl   the same server, Python's ssl doing TLS
    nginx       nginx -p DIR -c DIR/nginx.conf           C and OpenSSL, one worker process
    tlslite-ng  bench/tlslite_server.py                  the other pure-Python TLS 1.3

All serve the same folder (a 1 KB and a 10 MB file) with the same ECDSA
P-256 chain (root -> intermediate -> server, from pki.generate_pki), on
127.0.0.1 only.  Each runs as a child process pinned to the CPUs it is given
(or not pinned: the scaling scenario), with its error log in a file of the
run's temporary folder; `ChildServer` is the one parent-side class for all.

Missing peers are installed when possible, and said so: nginx from Debian's
packages (root only), tlslite-ng with pip into the running interpreter's
environment (the project's .venv under `make bench`).

This module starts and stops only its own children and writes only under
the run's temporary folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.process_tree import descendants
from tls_web_server.tls.pki import GeneratedPki

BENCH_FOLDER = Path(__file__).resolve().parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
# nginx's default is 1000 requests per connection; wrk would then measure reconnects.
NGINX_KEEPALIVE_REQUESTS = 100_000_000


NGINX_CIPHER_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"


def stop_child(process: subprocess.Popen[str]) -> int:
    """SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_SECONDS; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return process.returncode


class PeerUnavailable(Exception):
    """A peer cannot be measured here (not installed and not installable, or did not start)."""


@dataclass(frozen=True)
class PeerSite:
    """What every server serves, and where the run keeps configs and logs."""

    html: Path
    certs: GeneratedPki
    work: Path


# ---------------------------------------------------------------------------
# one child process, whatever the server
# ---------------------------------------------------------------------------


class ChildServer:
    """A server child process; a context manager.  Ready when its ports are known and open.

    Ports come either from the child's "listening on URL (PROTOCOL)" lines on
    stdout (ours, tlslite-ng: they bind port 0) or are chosen in advance
    (nginx).  stderr goes to `log_path`, never to a pipe nobody reads.
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        *,
        cpus: set[int] | None,
        log_path: Path,
        listening_lines: int = 0,
        known_ports: dict[str, int] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.cpus = cpus
        self.log_path = log_path
        self.listening_lines = listening_lines
        self.ports: dict[str, int] = dict(known_ports or {})  # "http" / "https" -> port
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ChildServer:
        cpus = self.cpus
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
            )
        # A child that hangs without a word would block readline() for ever: past
        # the deadline it is killed, readline() sees EOF, and the start fails.
        watchdog = threading.Timer(STARTUP_TIMEOUT_SECONDS, self.process.kill)
        watchdog.start()
        try:
            self._wait_until_ready()
        except PeerUnavailable:
            self.stop()
            raise
        finally:
            watchdog.cancel()
        return self

    def _wait_until_ready(self) -> None:
        process = self.process
        if process is None or process.stdout is None:
            raise PeerUnavailable(f"{self.name}: not started")
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        seen = 0
        while seen < self.listening_lines:
            line = process.stdout.readline()
            if not line:
                raise PeerUnavailable(f"{self.name} exited: {self._log_tail()}")
            if line.startswith("listening on "):
                # "listening on https://127.0.0.1:PORT (TLSv1.3)"
                url = line.split()[2]
                self.ports.setdefault(url.split(":", 1)[0], int(url.rsplit(":", 1)[1]))
                seen += 1
            if time.monotonic() > deadline:
                raise PeerUnavailable(f"{self.name} did not start: {self._log_tail()}")
        for port in self.ports.values():
            while True:
                if process.poll() is not None:
                    raise PeerUnavailable(f"{self.name} exited: {self._log_tail()}")
                try:
                    socket.create_connection((HOST, port), timeout=1.0).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise PeerUnavailable(f"{self.name}: port {port} never opened") from None
                    time.sleep(0.05)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise PeerUnavailable(f"{self.name} is not running")
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The processes below the one started (nginx's worker, our worker processes)."""
        return descendants(self.pid)[1:]

    def _log_tail(self) -> str:
        return " | ".join(self.error_log_lines()[-3:]) or "no error log"

    def error_log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def stop(self) -> int:
        """SIGTERM (nginx: fast stop; QUIT would wait for keep-alive clients), then kill."""
        process, self.process = self.process, None
        return stop_child(process) if process is not None else -1

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------
# ours and the stdlib-ssl server (same code, different TLS engine)
# ---------------------------------------------------------------------------


def ours_config_text(site: PeerSite, *, workers: int) -> str:
    """A plain and a TLS 1.3 listener on free ports, the same files and chain as every peer."""
    return f"""
worker_processes {workers};
http {{
    access_log off;
    server {{
        listen {HOST}:0;
        listen {HOST}:0 ssl;
        server_name localhost;
        ssl_certificate {site.certs.server_cert};
        ssl_certificate_key {site.certs.server_key};
        ssl_certificate_chain {site.certs.intermediate_cert};
        location / {{ root {site.html}; }}
    }}
}}
"""


def ours_server(
    site: PeerSite,
    engine: str,
    *,
    cpus: set[int] | None,
    workers: int = 1,
    accept: str = "shared",
) -> ChildServer:
    """Our server (engine "ours") or the stdlib-ssl one (engine "openssl"), not yet started.

    accept="reuseport" runs our workers on one SO_REUSEPORT socket each
    (bench/reuseport_server.py) instead of server/processes.py's shared socket.
    """
    label = f"{engine}-{workers}w-{accept}"
    config = site.work / f"{label}.conf"
    if accept == "reuseport":
        config.write_text(ours_config_text(site, workers=1))
        command = [sys.executable, str(BENCH_FOLDER / "reuseport_server.py"), "-c", str(config)]
        command += ["--workers", str(workers)]
    else:
        config.write_text(ours_config_text(site, workers=workers))
        command = [sys.executable, str(BENCH_FOLDER / "tls13_server.py"), "--engine", engine]
        command += ["-c", str(config)]
    return ChildServer(
        "ours" if engine == "ours" else "stdlib-ssl",
        command,
        cpus=cpus,
        log_path=site.work / f"{label}-error.log",
        listening_lines=2,
    )


def stdlib_ssl_version() -> str:
    return f"Python {sys.version.split()[0]} ssl, {ssl.OPENSSL_VERSION}"


# ---------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------


def ensure_nginx(say=print) -> str | None:
    """Path of nginx, installing Debian's package when missing (root only); None if unavailable."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    say("installing nginx from Debian's packages ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    # Debian's package starts a system nginx on port 80 when it can; ours runs on its own.
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def nginx_version(nginx: str) -> str:
    """e.g. "nginx 1.22.1, OpenSSL 3.0.19 (runtime)"."""
    report = subprocess.run([nginx, "-V"], capture_output=True, text=True).stderr
    version = "nginx"
    library = ""
    for line in report.splitlines():
        if line.startswith("nginx version: "):
            version = line.split(": ", 1)[1].replace("/", " ")
        if "running with OpenSSL" in line:
            library = "OpenSSL " + line.split("running with OpenSSL", 1)[1].split()[0]
        elif line.startswith("built with OpenSSL") and not library:
            library = "OpenSSL " + line.split()[3]
    return f"{version}, {library}" if library else version


def free_port() -> int:
    """A port free right now (the small race with other programs is acceptable here)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def nginx_config_text(site: PeerSite, prefix: Path, *, http_port: int, https_port: int) -> str:
    # The worker runs as the user who started the benchmark: the default user
    # (nobody) could not read files in the run's private temporary folder.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    chain = prefix / "chain.pem"
    certs = site.certs
    chain.write_bytes(certs.server_cert.read_bytes() + certs.intermediate_cert.read_bytes())
    temp = prefix / "temp"
    return f"""
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests {NGINX_KEEPALIVE_REQUESTS};
    default_type application/octet-stream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen {HOST}:{http_port};
        listen {HOST}:{https_port} ssl;
        server_name localhost;
        root {site.html};
        ssl_protocols TLSv1.3;
        # The suite ours picks (AES-128-GCM), so the 10 MB row compares like with
        # like; left alone, nginx would follow the client's preference (AES-256).
        ssl_prefer_server_ciphers on;
        ssl_conf_command Ciphersuites {NGINX_CIPHER_SUITES};
        ssl_certificate {chain};
        ssl_certificate_key {site.certs.server_key};
    }}
}}
"""


def nginx_server(site: PeerSite, nginx: str, *, cpus: set[int] | None) -> ChildServer:
    """nginx in the foreground with its own prefix, config, pid file, temp dirs and logs."""
    prefix = site.work / "nginx"
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    ports = {"http": free_port(), "https": free_port()}
    config = prefix / "nginx.conf"
    config.write_text(
        nginx_config_text(site, prefix, http_port=ports["http"], https_port=ports["https"])
    )
    command = [nginx, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
    command += ["-g", "daemon off;"]
    return ChildServer(
        "nginx", command, cpus=cpus, log_path=prefix / "error.log", known_ports=ports
    )


# ---------------------------------------------------------------------------
# tlslite-ng
# ---------------------------------------------------------------------------


def _python_says(code: str) -> str | None:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_tlslite(say=print) -> str | None:
    """tlslite-ng's version, installing it with pip into this environment when missing."""
    # Which optional accelerators tlslite-ng found decides what is being measured:
    # with none, AES-GCM, X25519 and ECDSA are all pure Python.
    version_code = (
        "import tlslite; from tlslite.utils import cryptomath as m; "
        "found = [name for name, loaded in (('M2Crypto', m.m2cryptoLoaded), "
        "('pycrypto', m.pycryptoLoaded), ('gmpy', m.gmpyLoaded or m.GMPY2_LOADED)) if loaded]; "
        "print(tlslite.__version__, ', '.join(found) or 'no accelerators')"
    )
    report = _python_says(version_code)
    if report is None:
        say(f"installing tlslite-ng with pip into {sys.prefix} ...")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "tlslite-ng"], capture_output=True
        )
        report = _python_says(version_code)
    if report is None:
        return None
    version, accelerators = report.split(" ", 1)
    return f"tlslite-ng {version} (pure Python, {accelerators})"


def tlslite_server(site: PeerSite, *, cpus: set[int] | None) -> ChildServer:
    command = [sys.executable, str(BENCH_FOLDER / "tlslite_server.py"), "--root", str(site.html)]
    command += ["--cert", str(site.certs.server_cert), "--chain", str(site.certs.intermediate_cert)]
    command += ["--key", str(site.certs.server_key)]
    return ChildServer(
        "tlslite-ng",
        command,
        cpus=cpus,
        log_path=site.work / "tlslite-error.log",
        listening_lines=1,
    )
