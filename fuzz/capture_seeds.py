"""Build the seed corpus: `python -m fuzz.capture_seeds [--output DIR] [--client-hellos-only]`.

What this module owns: what real programs send, captured on this machine.
- The first bytes of curl, `openssl s_client` and headless Chromium: each is
  pointed at a tiny listening socket on 127.0.0.1 that keeps what arrives
  until the ClientHello (or, over plain HTTP, the request head) is complete,
  then hangs up.  Those are the tls13_server and http_parser seeds.
- The flights `openssl s_server` sends to our fixed client (support.py),
  with and without a CertificateRequest, in the sealing framing: the
  tls13_client seeds from a TLS stack that is not ours.
Together with derived_seeds.py (our own conversations, configs, cut
messages) this writes fuzz/corpus/<harness>/.  Run it again after a change
to what our client sends (its hello must match the recorded flights);
tests/test_fuzz_smoke.py runs the client-hello capture on every `make test`.

What it must never do: reach beyond 127.0.0.1, leave a client or s_server
running (each runs under a deadline and is ended by its own handle), or
write anywhere but the output folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tls_web_server.tls.pki import GeneratedPki
from tls_web_server.tls.tls13.enums import ContentType

from .derived_seeds import HTTP_REQUEST, Corpus, Recorder, add_cut_seeds, all_derived_seeds
from .support import CORPUS_DIR, KEYS_DIR, new_tls13_client

# Generous for one handshake on loopback; a client that takes longer is broken.
DEADLINE_SECONDS = 30.0
_HANDSHAKE = int(ContentType.handshake)

# As tests/interop/test_chromium.py: no sandbox (CI runs as root), no GPU or
# QUIC, nothing that phones home, and every name but localhost unresolvable.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
)

HTTP_REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


def client_hello_length(data: bytes) -> int | None:
    """How many bytes of `data` the records carrying one whole ClientHello take, once they do."""
    offset = 0
    handshake = bytearray()
    while len(data) - offset >= 5:
        if data[offset] != _HANDSHAKE:
            raise ValueError(f"the client sent a record of type {data[offset]} before its hello")
        end = offset + 5 + int.from_bytes(data[offset + 3 : offset + 5], "big")
        if end > len(data):
            return None
        handshake += data[offset + 5 : end]
        offset = end
        if len(handshake) >= 4 and len(handshake) >= 4 + int.from_bytes(handshake[1:4], "big"):
            return offset
    return None


def http_head_length(data: bytes) -> int | None:
    end = data.find(b"\r\n\r\n")
    return None if end < 0 else end + 4


class FirstBytesListener:
    """Listens on 127.0.0.1; keeps the first connection's bytes until `complete` says enough."""

    def __init__(self, complete: Callable[[bytes], int | None], reply: bytes = b"") -> None:
        self._complete = complete
        self._reply = reply
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.captured: bytes | None = None
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and not self.done.is_set():
            try:
                connection, _address = self._server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(DEADLINE_SECONDS)
                received = bytearray()
                while (length := self._complete(bytes(received))) is None:
                    data = connection.recv(65536)
                    if not data:
                        break
                    received += data
                if length is not None:
                    self.captured = bytes(received[:length])
                    if self._reply:
                        connection.sendall(self._reply)
                    self.done.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


def _end_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the client's whole process group, SIGKILL what is left after 10 s; reap it."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(group, 0)  # anyone of the group still there?
        except ProcessLookupError:
            break
        time.sleep(0.02)  # polling interval; the deadline decides
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait()


def capture(
    command: Callable[[int], list[str]],
    complete: Callable[[bytes], int | None],
    *,
    reply: bytes = b"",
    environment: dict[str, str] | None = None,
) -> bytes:
    """Run the client `command(port)` against a FirstBytesListener; return what it sent first."""
    listener = FirstBytesListener(complete, reply)
    # A group of its own: Chromium's helper processes must end with it, or they
    # still write into its profile folder while the caller removes it.
    process = subprocess.Popen(
        command(listener.port),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
        start_new_session=True,
    )
    try:
        listener.done.wait(DEADLINE_SECONDS)
    finally:
        _end_process_group(process)
        listener.close()
    if listener.captured is None:
        raise RuntimeError(f"{command(listener.port)[0]} sent nothing complete within the deadline")
    return listener.captured


def _chromium(url_scheme: str, profile: Path) -> tuple[Callable[[int], list[str]], dict[str, str]]:
    environment = {
        **os.environ,
        "HOME": str(profile),
        "XDG_CONFIG_HOME": str(profile / ".config"),
        "XDG_CACHE_HOME": str(profile / ".cache"),
    }

    def command(port: int) -> list[str]:
        return [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile / 'profile'}",
            "--dump-dom",
            f"{url_scheme}://localhost:{port}/",
        ]

    return command, environment


def capture_client_hellos(corpus: Corpus) -> None:
    """tls13_server seeds from curl, openssl s_client and Chromium; their HTTP requests too."""
    corpus.add(
        "tls13_server",
        "curl-clienthello.bin",
        capture(lambda port: ["curl", "-sk", f"https://localhost:{port}/"], client_hello_length),
    )
    corpus.add(
        "tls13_server",
        "openssl-s_client-clienthello.bin",
        capture(
            lambda port: ["openssl", "s_client", "-connect", f"localhost:{port}"],
            client_hello_length,
        ),
    )
    corpus.add(
        "http_parser",
        "curl-request.http",
        capture(
            lambda port: ["curl", "-s", f"http://localhost:{port}/"],
            http_head_length,
            reply=HTTP_REPLY,
        ),
    )
    with tempfile.TemporaryDirectory(prefix="fuzz-chromium-") as folder:
        command, environment = _chromium("https", Path(folder))
        corpus.add(
            "tls13_server",
            "chromium-clienthello.bin",
            capture(command, client_hello_length, environment=environment),
        )
    with tempfile.TemporaryDirectory(prefix="fuzz-chromium-") as folder:
        command, environment = _chromium("http", Path(folder))
        corpus.add(
            "http_parser",
            "chromium-request.http",
            capture(command, http_head_length, reply=HTTP_REPLY, environment=environment),
        )


# ---------------------------------------------------------------------------
# openssl s_server's flights to our fixed client
# ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def openssl_server_flight(extra_arguments: tuple[str, ...]) -> tuple[bytes, bytes]:
    """(framed flight, raw wire) that `openssl s_server -www` sends our fixed client for a GET."""
    folder = KEYS_DIR / "ecdsa-p256"
    port = _free_port()
    process = subprocess.Popen(
        [
            *("openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_3", "-www"),
            *("-cert", str(folder / "server_cert.pem"), "-key", str(folder / "server_key.pem")),
            *("-cert_chain", str(folder / "intermediate_cert.pem"), *extra_arguments),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        # It prints a line or two ("Using default temp DH parameters"), then ACCEPT.
        lines = iter(process.stdout.readline, "") if process.stdout is not None else iter(())
        if not any(line.strip() == "ACCEPT" for line in lines):
            raise RuntimeError("openssl s_server did not start")
        return _talk_to(port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _talk_to(port: int) -> tuple[bytes, bytes]:
    recorder = Recorder()
    client = new_tls13_client(observer=recorder)
    raw = bytearray()
    request_sent = False
    deadline = time.monotonic() + DEADLINE_SECONDS
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_SECONDS) as connection:
        while not client.peer_closed and time.monotonic() < deadline:
            connection.sendall(client.pop_pending_wire_data())
            if client.is_established and not request_sent:
                connection.sendall(client.protect_application_data(HTTP_REQUEST))
                request_sent = True
            data = connection.recv(65536)
            if not data:
                break
            raw += data
            client.feed_wire_data(data)
    if not request_sent or not client.read_plaintext().startswith(b"HTTP/1.0 200"):
        raise RuntimeError("openssl s_server did not answer our client's request")
    return recorder.framed("received"), bytes(raw)


def capture_openssl_flights(corpus: Corpus) -> None:
    for name, arguments in (
        ("openssl-s_server", ("-num_tickets", "2")),
        ("openssl-s_server-certificate-request", ("-verify", "1", "-num_tickets", "0")),
    ):
        framed, raw = openssl_server_flight(arguments)
        corpus.add("tls13_client", f"{name}-flight.bin", framed)
        add_cut_seeds(corpus, f"{name}-flight", framed)
        corpus.add("tls13_record", f"{name}-raw-wire.bin", raw)


# ---------------------------------------------------------------------------
# the test suite's configuration files
# ---------------------------------------------------------------------------


def capture_test_configs(corpus: Corpus) -> None:
    """The configs tests/conftest.py and the interop harness write, with relative paths."""
    from tests.conftest import write_site
    from tests.interop.harness import write_interop_site

    chain = GeneratedPki(
        root_cert=Path("root_cert.pem"),
        intermediate_cert=Path("intermediate_cert.pem"),
        server_cert=Path("server_cert.pem"),
        server_key=Path("server_key.pem"),
        root_key=Path("root_key.pem"),
        intermediate_key=Path("intermediate_key.pem"),
    )
    with tempfile.TemporaryDirectory(prefix="fuzz-configs-") as scratch:
        folder = Path(scratch)
        for name, path in (
            ("tests-site.conf", write_site(folder / "site", chain)),
            ("tests-interop-site.conf", write_interop_site(folder / "interop", chain, "marker")),
        ):
            # Logs land beside the config, as a relative path from the file's folder.
            text = path.read_text(encoding="utf-8").replace(f"{path.parent}/", "logs/")
            corpus.add("config_parser", name, text.encode())


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------


def write_corpus(corpus: Corpus, output: Path) -> int:
    count = 0
    for harness, name, data in corpus.files():
        folder = output / harness
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=CORPUS_DIR)
    parser.add_argument(
        "--client-hellos-only",
        action="store_true",
        help="only capture what curl, openssl s_client and Chromium send",
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="empty the folders of the harnesses it writes first (drops stale seeds)",
    )
    arguments = parser.parse_args(argv)
    corpus = Corpus()
    capture_client_hellos(corpus)
    for origin in ("curl", "openssl-s_client", "chromium"):
        add_cut_seeds(corpus, origin, corpus.seeds["tls13_server"][f"{origin}-clienthello.bin"])
    if not arguments.client_hellos_only:
        capture_openssl_flights(corpus)
        capture_test_configs(corpus)
        for harness, name, data in all_derived_seeds().files():
            corpus.add(harness, name, data)
    if arguments.clean:
        # Only the harnesses this script writes: the http2 seeds are kept by hand.
        for harness in {harness for harness, _, _ in corpus.files()}:
            shutil.rmtree(arguments.output / harness, ignore_errors=True)
    count = write_corpus(corpus, arguments.output)
    print(f"wrote {count} seeds into {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
