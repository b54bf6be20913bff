"""Full TLS 1.3 handshakes per second, with the client's cost taken out of the way.

A real TLS client spends about as much CPU on a full handshake as the server
does (key share, certificate chain and signature checks), so one client core
cannot push one server core to its limit, and the measured rate would be the
client's.  This load generator does almost no cryptography at all:

1. `record_client_hello()` asks Python's `ssl` (OpenSSL) for one ClientHello,
   once: TLS 1.3 only, an X25519 key share, the three TLS 1.3 cipher suites,
   ALPN http/1.1 and SNI localhost.  The bytes are saved and replayed.
2. `calibrate()` sends those bytes on one connection per try and reads what the
   server answers until it goes quiet.  A server's first flight (RFC 8446
   section 2: ServerHello, perhaps a ChangeCipherSpec, then EncryptedExtensions,
   Certificate, CertificateVerify and Finished) is a fixed number of records
   for a given server, but not the same number for ours, nginx and OpenSSL;
   its size in bytes varies by a byte or two (DER-encoded ECDSA signatures).
3. `replay()` keeps N connections in flight with `selectors`: connect, send the
   recorded ClientHello, read until that many whole records have arrived,
   then close with SO_LINGER 0 (a TCP reset: no TIME_WAIT pile-up of ports
   at thousands of connections per second) and start the next connection.

Replaying one ClientHello is sound for a full-handshake benchmark: the server
still draws its own random, computes its own ECDHE share and the shared
secret, derives the handshake keys and signs the transcript every time.  It
never sees a Finished, so it never derives traffic keys or sends tickets;
the rate is "first flights per second", the server's expensive half of a
full handshake.  (Anti-replay, RFC 8446 section 8, concerns 0-RTT data only,
which this ClientHello does not offer.)

Run as a child process (`python bench/handshake_load.py --port P ...`) it
prints one JSON object; the parent pins it to a core and measures its CPU.

This module only sends traffic to the host it is given (the bench uses
127.0.0.1), stops by itself at its deadline, and never starts servers.
"""

from __future__ import annotations

import argparse
import errno
import json
import resource
import selectors
import socket
import ssl
import struct
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tls_web_server.tls.names import describe
from tls_web_server.tls.tls13 import extensions
from tls_web_server.tls.tls13.enums import CipherSuite, ExtensionType, NamedGroup
from tls_web_server.tls.tls13.messages import ClientHello

RECORD_HEADER_LENGTH = 5  # RFC 8446 section 5.1: type (1), legacy version (2), length (2)
HANDSHAKE_CONTENT_TYPE = 22
ALERT_CONTENT_TYPE = 21
SERVER_HELLO_TYPE = 2
# RFC 8446 section 4.1.3: a HelloRetryRequest is a ServerHello with this random.
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)
# The server has finished its first flight when it has sent nothing for this
# long: it is then waiting for our Finished, which never comes.
QUIET_SECONDS = 0.5
CALIBRATION_TRIES = 3
CONNECT_TIMEOUT_SECONDS = 10.0
READ_SIZE = 65536
DEFAULT_CONNECTIONS = 16
LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset


class HandshakeLoadError(Exception):
    """The server did not answer the recorded ClientHello with a usable first flight."""


# ---------------------------------------------------------------------------
# the ClientHello, recorded once
# ---------------------------------------------------------------------------


def record_client_hello(server_name: str = "localhost") -> bytes:
    """One TLS 1.3 ClientHello record, as OpenSSL's client (via Python's ssl) writes it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # TLS 1.3 only: no TLS 1.2 suites, supported_versions offers 1.3 alone.
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        pass  # expected: the ClientHello is written, the client now waits for the server
    return outgoing.read()


@dataclass(frozen=True)
class ClientHelloFacts:
    """What a recorded ClientHello offers, read back with our own codec."""

    record_bytes: int
    cipher_suites: tuple[str, ...]
    key_share_groups: tuple[str, ...]
    server_name: str | None
    alpn: tuple[str, ...]
    supported_versions: tuple[int, ...]

    def problems(self) -> list[str]:
        """Differences from what the benchmark promises to offer."""
        found = []
        wanted_suites = {suite.name for suite in CipherSuite}
        if not wanted_suites <= set(self.cipher_suites):
            found.append(f"cipher suites {self.cipher_suites}, not all of {sorted(wanted_suites)}")
        if "x25519" not in self.key_share_groups:
            found.append(f"key shares {self.key_share_groups}, no x25519")
        if self.alpn != ("http/1.1",):
            found.append(f"ALPN {self.alpn}")
        if self.supported_versions != (0x0304,):
            found.append(f"supported_versions {self.supported_versions}")
        return found

    def summary(self) -> str:
        return (
            f"{self.record_bytes} B; suites {', '.join(self.cipher_suites)}; "
            f"key share {', '.join(self.key_share_groups)}; SNI {self.server_name}; "
            f"ALPN {', '.join(self.alpn)}"
        )


# OpenSSL adds this signalling value (RFC 5746 section 3.3) to every ClientHello.
RENEGOTIATION_INFO_SCSV = 0x00FF


def _suite_name(value: int) -> str:
    """A cipher suite as tls/names.py spells it; the SCSV is no suite and says so."""
    if value == RENEGOTIATION_INFO_SCSV:
        return "(renegotiation SCSV)"
    return describe(CipherSuite, value)


def describe_client_hello(record: bytes) -> ClientHelloFacts:
    """Parse one ClientHello record (header, handshake header, body) with tls13/messages.py."""
    if len(record) < RECORD_HEADER_LENGTH + 4 or record[0] != HANDSHAKE_CONTENT_TYPE:
        raise HandshakeLoadError("the recorded bytes are not a handshake record")
    body = record[RECORD_HEADER_LENGTH + 4 :]
    hello = ClientHello.decode(body)
    key_share = hello.extension(ExtensionType.key_share)
    server_name = hello.extension(ExtensionType.server_name)
    alpn = hello.extension(ExtensionType.application_layer_protocol_negotiation)
    versions = hello.extension(ExtensionType.supported_versions)
    shares = extensions.decode_client_key_shares(key_share) if key_share is not None else ()
    return ClientHelloFacts(
        record_bytes=len(record),
        cipher_suites=tuple(map(_suite_name, hello.cipher_suites)),
        key_share_groups=tuple(describe(NamedGroup, share.group) for share in shares),
        server_name=extensions.decode_server_name(server_name) if server_name else None,
        alpn=tuple(
            name.decode("ascii", "replace")
            for name in (extensions.decode_application_protocols(alpn) if alpn else ())
        ),
        supported_versions=(
            extensions.decode_client_supported_versions(versions) if versions else ()
        ),
    )


# ---------------------------------------------------------------------------
# calibration: how many records make this server's first flight?
# ---------------------------------------------------------------------------


def whole_records(buffer: bytes | bytearray) -> tuple[tuple[int, ...], int]:
    """(content type of each whole record at the start of `buffer`, bytes those records take)."""
    types = []
    position = 0
    while len(buffer) - position >= RECORD_HEADER_LENGTH:
        length = int.from_bytes(buffer[position + 3 : position + 5], "big")
        end = position + RECORD_HEADER_LENGTH + length
        if end > len(buffer):
            break
        types.append(buffer[position])
        position = end
    return tuple(types), position


@dataclass(frozen=True)
class FirstFlight:
    """A server's answer to the recorded ClientHello, as seen on the wire."""

    records: int  # whole records up to the moment the server went quiet
    bytes_seen: tuple[int, ...]  # its length in bytes, once per calibration try
    content_types: tuple[int, ...]  # of each record, e.g. (22, 20, 23, 23, 23, 23)

    def summary(self) -> str:
        sizes = sorted(set(self.bytes_seen))
        size_text = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
        types = "/".join(map(str, self.content_types))
        return f"{self.records} records, {size_text} B (record types {types})"


def _read_one_flight(host: str, port: int, client_hello: bytes) -> bytes:
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        sock.sendall(client_hello)
        received = bytearray()
        sock.settimeout(CONNECT_TIMEOUT_SECONDS)  # the first bytes may take a slow server long
        while True:
            try:
                chunk = sock.recv(READ_SIZE)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
            sock.settimeout(QUIET_SECONDS)
        return bytes(received)


def calibrate(host: str, port: int, client_hello: bytes) -> FirstFlight:
    """Send the ClientHello a few times; the first flight must be the same records each time."""
    counts = []
    sizes = []
    types: tuple[int, ...] = ()
    for _ in range(CALIBRATION_TRIES):
        try:
            flight = _read_one_flight(host, port, client_hello)
        except OSError as error:
            raise HandshakeLoadError(f"calibration connection failed: {error}") from None
        record_types, used = whole_records(flight)
        records = len(record_types)
        if records == 0:
            raise HandshakeLoadError(f"no whole record in the answer ({len(flight)} bytes)")
        if flight[0] == ALERT_CONTENT_TYPE:
            raise HandshakeLoadError(f"the server answered with an alert: {flight[:7].hex()}")
        # Handshake header (4 bytes), legacy_version (2), then the 32-byte random.
        random_start = RECORD_HEADER_LENGTH + 4 + 2
        if flight[0] != HANDSHAKE_CONTENT_TYPE or flight[RECORD_HEADER_LENGTH] != SERVER_HELLO_TYPE:
            raise HandshakeLoadError("the answer does not start with a ServerHello")
        if flight[random_start : random_start + 32] == HELLO_RETRY_REQUEST_RANDOM:
            raise HandshakeLoadError("the server sent a HelloRetryRequest: the replay cannot go on")
        if used != len(flight):
            raise HandshakeLoadError("the server stopped in the middle of a record")
        counts.append(records)
        sizes.append(used)
        types = record_types
    if len(set(counts)) != 1:
        raise HandshakeLoadError(f"the first flight varies between {sorted(set(counts))} records")
    return FirstFlight(counts[0], tuple(sizes), types)


# ---------------------------------------------------------------------------
# the load
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    handshakes: int  # first flights received in full
    seconds: float
    errors: dict[str, int]  # by kind: refused, reset, closed early, timeout ...
    cpu_seconds: float  # this process, user + system
    latency_median_ms: float
    latency_p99_ms: float

    @property
    def handshakes_per_second(self) -> float:
        return self.handshakes / self.seconds if self.seconds else 0.0

    @property
    def cpu_share(self) -> float:
        """This load generator's CPU use as a fraction of one core."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0


class _Attempt:
    """One connection on its way to a whole first flight."""

    __slots__ = ("next_record_at", "received", "records", "sent", "sock", "started")

    def __init__(self, sock: socket.socket, started: float) -> None:
        self.sock = sock
        self.received = bytearray()
        self.records = 0
        self.next_record_at = 0  # offset of the next record header in `received`
        self.started = started
        self.sent = False

    def count_records(self) -> int:
        received = self.received
        while len(received) - self.next_record_at >= RECORD_HEADER_LENGTH:
            start = self.next_record_at
            length = (received[start + 3] << 8) | received[start + 4]
            end = start + RECORD_HEADER_LENGTH + length
            if end > len(received):
                break
            self.records += 1
            self.next_record_at = end
        return self.records


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def replay(
    host: str,
    port: int,
    client_hello: bytes,
    *,
    flight_records: int,
    seconds: float,
    connections: int = DEFAULT_CONNECTIONS,
) -> ReplayResult:
    """Keep `connections` handshakes in flight for `seconds`; count whole first flights."""
    selector = selectors.DefaultSelector()
    errors: dict[str, int] = {}
    latencies: list[float] = []
    handshakes = 0
    cpu_at_start = _cpu_seconds()
    started = time.perf_counter()
    deadline = started + seconds

    def open_one() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        status = sock.connect_ex((host, port))
        if status not in (0, errno.EINPROGRESS):
            sock.close()
            kind = errno.errorcode.get(status, str(status))
            errors[kind] = errors.get(kind, 0) + 1
            return
        attempt = _Attempt(sock, time.perf_counter())
        # Over loopback the TCP handshake is usually done by the time connect
        # returns: sending at once saves a wait for writability and two system
        # calls per connection, which is CPU the servers get instead.
        try:
            sent = sock.send(client_hello)
        except (BlockingIOError, InterruptedError):
            sent = 0  # not connected yet: wait until the socket is writable
        except OSError as error:
            if error.errno != errno.ENOTCONN:
                finish_unregistered(sock, type(error).__name__)
                return
            sent = 0
        if sent == len(client_hello):
            attempt.sent = True
            selector.register(sock, selectors.EVENT_READ, attempt)
        elif sent == 0:
            selector.register(sock, selectors.EVENT_WRITE, attempt)
        else:  # a fresh socket's buffer takes ~250 bytes whole; never seen, but not resent
            finish_unregistered(sock, "short send")

    def finish_unregistered(sock: socket.socket, error: str) -> None:
        sock.close()
        errors[error] = errors.get(error, 0) + 1

    def finish(attempt: _Attempt, error: str | None) -> None:
        selector.unregister(attempt.sock)
        attempt.sock.close()
        if error is not None:
            errors[error] = errors.get(error, 0) + 1

    for _ in range(connections):
        open_one()
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        for key, _events in selector.select(min(1.0, deadline - now)):
            attempt: _Attempt = key.data
            if not attempt.sent:
                status = attempt.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if status:
                    finish(attempt, errno.errorcode.get(status, str(status)))
                    open_one()
                    continue
                try:
                    # The ClientHello (~250 bytes) fits any fresh socket's send buffer.
                    attempt.sock.send(client_hello)
                except OSError as error:
                    finish(attempt, type(error).__name__)
                    open_one()
                    continue
                attempt.sent = True
                selector.modify(attempt.sock, selectors.EVENT_READ, attempt)
                continue
            try:
                chunk = attempt.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as error:
                finish(attempt, type(error).__name__)
                open_one()
                continue
            if not chunk:
                finish(attempt, "closed before the flight was complete")
                open_one()
                continue
            attempt.received += chunk
            if attempt.count_records() >= flight_records:
                latencies.append(time.perf_counter() - attempt.started)
                handshakes += 1
                finish(attempt, None)
                open_one()
        if not selector.get_map():
            break
    elapsed = time.perf_counter() - started
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    selector.close()
    latencies.sort()
    return ReplayResult(
        handshakes=handshakes,
        seconds=elapsed,
        errors=errors,
        cpu_seconds=_cpu_seconds() - cpu_at_start,
        latency_median_ms=_percentile(latencies, 0.5) * 1000,
        latency_p99_ms=_percentile(latencies, 0.99) * 1000,
    )


def result_from_json(text: str) -> ReplayResult:
    """The parent's side of the child's one line of JSON."""
    fields = json.loads(text)
    return ReplayResult(**fields)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hello", type=Path, required=True, help="file with the ClientHello")
    parser.add_argument("--flight-records", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    args = parser.parse_args()
    result = replay(
        args.host,
        args.port,
        args.hello.read_bytes(),
        flight_records=args.flight_records,
        seconds=args.seconds,
        connections=args.connections,
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
