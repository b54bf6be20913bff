"""The walkthrough's demo as library code: a site, certificates, a config, narrated requests.

server_side.py, client_side.py and scripts/demo.py are thin wrappers around
these functions, so the demo a reader runs is the same code the tests run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tls_web_server.client.fetch import (
    ClientError,
    FetchResult,
    TLSClientFactory,
    fetch,
    tls13_client_factory,
    toytls_client_factory,
)
from tls_web_server.tls import pki
from tls_web_server.tls.trace import Trace, render_text, use_color
from tls_web_server.tls.trace_html import render_html

DEFAULT_HTTP_PORT = 8080
DEFAULT_TLS13_PORT = 8443
DEFAULT_TOYTLS_PORT = 8444

INDEX_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>tls-web-server demo</title></head>
<body>
<h1>Hello from tls-web-server</h1>
<p>These bytes left a file on disk, became an HTTP response, and (on a TLS
listener) were encrypted by TLS code written in Python you can read.</p>
</body>
</html>
"""

CONFIG_TEMPLATE = """# The demo site: one server block with three listeners.
http {{
    access_log {access_log};

    server {{
        listen {http_port};              # plain HTTP
        listen {tls13_port} ssl;         # TLS 1.3, our own implementation
        listen {toytls_port} toytls;     # the learning protocol
        server_name localhost;

        ssl_certificate certs/server_cert.pem;
        ssl_certificate_key certs/server_key.pem;
        ssl_certificate_chain certs/intermediate_cert.pem;

        location / {{
            root html;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class DemoSite:
    folder: Path
    config: Path
    root_certificate: Path


def prepare_demo_site(
    folder: Path,
    *,
    http_port: int = DEFAULT_HTTP_PORT,
    tls13_port: int = DEFAULT_TLS13_PORT,
    toytls_port: int = DEFAULT_TOYTLS_PORT,
    access_log: str = "stdout",
) -> DemoSite:
    """Write html/index.html, a certificate chain (once) and site.conf into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / "html"
    html.mkdir(exist_ok=True)
    (html / "index.html").write_text(INDEX_HTML)
    certs = folder / "certs"
    if not (certs / "server_key.pem").exists():
        pki.generate_pki(certs, ["localhost"])
    config = folder / "site.conf"
    config.write_text(
        CONFIG_TEMPLATE.format(
            http_port=http_port,
            tls13_port=tls13_port,
            toytls_port=toytls_port,
            access_log=access_log,
        )
    )
    return DemoSite(folder, config, certs / "root_cert.pem")


def narrated_fetch(
    title: str,
    url: str,
    *,
    new_tls: TLSClientFactory | None = None,
    say: Callable[[str], None] = print,
    trace_text: bool = False,
    trace_page: Path | None = None,
) -> FetchResult | None:
    """Fetch `url`, telling the reader what happens; None if it failed.

    With `trace_text` the connection's diagram is printed; with `trace_page`
    its annotated bytes are written there as one HTML page.
    """
    say(f"\n== {title}")
    say(f"   GET {url}")
    trace = Trace("client") if new_tls is not None and (trace_text or trace_page) else None
    try:
        result = fetch(url, new_tls=new_tls, observer=trace)
    except ClientError as error:
        say(f"   failed: {error}")
        return None
    if trace is not None:
        if trace_text:
            color = say is print and use_color(sys.stdout)
            say(render_text(trace, color=color).rstrip("\n"))
        if trace_page is not None:
            trace_page.parent.mkdir(parents=True, exist_ok=True)
            page = render_html(trace, title=f"TLS connection to {url}")
            trace_page.write_text(page, encoding="utf-8")
    if result.negotiated is not None:
        say(f"   handshake: {result.negotiated.summary()}")
    response = result.response
    say(f"   {response.version} {response.status} {response.reason}")
    say(f"   {len(response.body)} body bytes, Content-Type {response.header('content-type')}")
    return result


def succeeded(result: FetchResult | None) -> bool:
    return (
        result is not None
        and result.response.version == "HTTP/1.1"
        and result.response.status == 200
        and result.response.reason == "OK"
    )


def real_client_fetch(
    title: str, url: str, cafile: Path, say: Callable[[str], None] = print
) -> bool:
    """Fetch `url` with curl (or, without curl, Python's ssl module): a real TLS 1.3 client."""
    say(f"\n== {title}")
    curl = shutil.which("curl")
    if curl:
        command = [curl, "-sS", "-i", "--tlsv1.3", "--cacert", str(cafile), url]
        say("   " + " ".join(command))
        result = subprocess.run(command, capture_output=True, timeout=30)
        status_line = result.stdout.split(b"\r\n", 1)[0].decode("latin-1")
        if result.returncode != 0:
            say(f"   failed: {result.stderr.decode(errors='replace').strip()}")
            return False
    else:
        say(f"   Python's ssl module (OpenSSL) fetching {url}")
        status_line = _fetch_status_with_ssl_module(url, cafile)
    say(f"   {status_line}")
    return status_line == "HTTP/1.1 200 OK"


def _fetch_status_with_ssl_module(url: str, cafile: Path) -> str:
    import socket
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=str(cafile))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {parts.hostname}\r\n\r\n".encode())
        return tls.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")


def browser_instructions(root_certificate: Path) -> str:
    trust = (
        f"certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n tls-web-server-demo -i {root_certificate}"
    )
    return "\n".join(
        [
            "To open the page in a browser:",
            "   1. run `python3 server_side.py` in a source checkout (it serves ports 8080,"
            " 8443 and 8444); installed with pip, run `tls-web-server serve FOLDER` instead:"
            " it prints its own root to trust and https://127.0.0.1:8443/_tls/this;",
            f"   2. make the browser trust the demo root certificate {root_certificate}",
            f"      Chromium/Chrome on Linux: {trust}",
            "      Firefox: Settings > Certificates > View Certificates > Authorities > Import;",
            f"   3. visit https://localhost:{DEFAULT_TLS13_PORT}/ (TLS 1.3, our code).",
            "The toytls port speaks the learning protocol, which no browser knows.",
        ]
    )


def run_demo(folder: Path, say: Callable[[str], None] = print) -> int:
    """The one-command demo: background server, every protocol narrated; 0 if all got 200."""
    say("Step 1: prepare a site, a certificate chain (root -> intermediate -> server) and a config")
    access_log = folder / "logs" / "access.log"
    site = prepare_demo_site(
        folder, http_port=0, tls13_port=0, toytls_port=0, access_log=str(access_log)
    )
    say(f"   site:   {folder / 'html' / 'index.html'}")
    say(f"   certs:  {site.root_certificate.parent}/")
    say(f"   config: {site.config}  (listen 0 = any free port)")
    traces = folder / "traces"

    say("\nStep 2: start the server in the background")
    with BackgroundServer(site.config, listeners=3) as server:
        for line in server.listening_lines:
            say(f"   {line}")
        plain = narrated_fetch(
            "Step 3: plain HTTP (socket bytes are HTTP bytes)", server.url("plain"), say=say
        )
        toy = narrated_fetch(
            "Step 4: HTTP inside the learning protocol (socket bytes are toytls records)",
            server.url("toytls").replace("127.0.0.1", "localhost"),
            new_tls=toytls_client_factory(site.root_certificate),
            say=say,
            trace_page=traces / "toytls.html",
        )
        tls13_url = server.url("TLSv1.3").replace("127.0.0.1", "localhost")
        ours = narrated_fetch(
            "Step 5: our TLS 1.3 client against our TLS 1.3 (RFC 8446) listener, drawn",
            tls13_url,
            new_tls=tls13_client_factory(site.root_certificate),
            say=say,
            trace_text=True,
            trace_page=traces / "tls13.html",
        )
        curl_ok = real_client_fetch(
            "Step 6: a real TLS 1.3 client against the same listener",
            tls13_url,
            site.root_certificate,
            say=say,
        )
        say("\nStep 7: stop the server (SIGTERM: finish in-flight responses, exit 0)")
    say(f"   server exit status: {server.exit_status}")
    if access_log.exists():
        say(f"   access log ({access_log}):")
        for line in access_log.read_text().splitlines()[-3:]:
            say(f"   {line}")
    ok = (
        succeeded(plain)
        and succeeded(toy)
        and succeeded(ours)
        and curl_ok
        and server.exit_status == 0
    )
    if ok:
        say("\nAll four requests got HTTP/1.1 200 OK.\n")
        say("Every byte of the two TLS connections, annotated, one page each (open in a browser):")
        say(f"   {traces / 'tls13.html'}   (TLS 1.3, step 5)")
        say(f"   {traces / 'toytls.html'}  (the learning protocol, step 4)\n")
        say(browser_instructions(site.root_certificate))
    else:
        say("\nThe demo FAILED (see above).")
    return 0 if ok else 1


class BackgroundServer:
    """`tls-web-server serve -c CONFIG` as a child process, for the demo and the tests."""

    def __init__(
        self,
        config: Path,
        *,
        listeners: int,
        startup_timeout: float = 20.0,
        cpus: set[int] | None = None,
        serve_options: tuple[str, ...] = (),
    ) -> None:
        self.config = config
        self.serve_options = serve_options  # more `serve` arguments, such as --trace
        self.expected_listeners = listeners
        self.cpus = cpus  # pin the server to these CPUs (benchmarks)
        self.startup_timeout = startup_timeout
        self.listening_lines: list[str] = []
        self.exit_status: int | None = None
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> BackgroundServer:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tls_web_server",
                "serve",
                "-c",
                str(self.config),
                *self.serve_options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, self.cpus)) if self.cpus else None,
        )
        deadline = time.monotonic() + self.startup_timeout
        assert self.process.stdout is not None
        while len(self.listening_lines) < self.expected_listeners:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the server did not start: {self.stderr_text}")
            line = self.process.stdout.readline()
            if line.startswith("listening on "):
                self.listening_lines.append(line.strip())
        return self

    def url(self, protocol: str, path: str = "/") -> str:
        for line in self.listening_lines:
            if line.endswith(f"({protocol})"):
                base = line.split()[2].replace("0.0.0.0", "127.0.0.1")
                return base + path
        raise KeyError(protocol)

    def stop(self) -> int:
        process = self.process
        if process is None:
            return -1
        if self.exit_status is not None:
            return self.exit_status
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.stdout_text = process.stdout.read() if process.stdout else ""
        self.stderr_text = process.stderr.read() if process.stderr else ""
        self.exit_status = process.returncode
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        return process.returncode

    stdout_text = ""  # what the server printed after its "listening on" lines
    stderr_text = ""

    def __exit__(self, *exc_info) -> None:
        self.stop()


if __name__ == "__main__":
    # `python -m tls_web_server.demo [FOLDER]`, the same as `tls-web-server demo`.
    sys.exit(run_demo(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-site").resolve()))
