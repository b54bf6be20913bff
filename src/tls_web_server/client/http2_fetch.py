"""`get --http2`: several URLs of one origin as concurrent streams on one TLS connection.

The HTTP/2 half of our blocking client, beside fetch.py's HTTP/1.1:

    requests -> http2 ClientConnection -> [tls.protect_application_data] -> socket
    socket -> [tls.feed_wire_data -> tls.read_plaintext] -> ClientConnection -> events

The TLS 1.3 client offers "h2" then "http/1.1" by ALPN (RFC 9113 section
3.2).  A server that picks HTTP/1.1 gets each URL of the origin over
HTTP/1.1 instead (fetch.py), so `--http2` never fails for want of HTTP/2.
Requests go out as soon as the server's SETTINGS_MAX_CONCURRENT_STREAMS
allows; a stream the server refused (REFUSED_STREAM, or above a GOAWAY's
last stream id: never processed, section 8.7) is retried on a new
connection.

What this module must never do: parse frames (http2/ does), or know which
TLS is below (tls/api.py's contract).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from tls_web_server.client.fetch import (
    BlockingTLS,
    ClientError,
    FetchResult,
    Target,
    TLSClientFactory,
    fetch,
)
from tls_web_server.http.response_reader import HttpResponse
from tls_web_server.http2.client import ClientConnection
from tls_web_server.http2.errors import ErrorCode, HTTP2Error
from tls_web_server.http2.events import (
    ConnectionFailed,
    DataReceived,
    GoAwayReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
)
from tls_web_server.tls.api import Observer
from tls_web_server.tls.errors import TLSError

HTTP2 = "h2"
VERSION = "HTTP/2"  # how the status line of `get -i` names the protocol, as curl does
# A connection that answers none of the requests left is not tried again more than this.
MAX_CONNECTIONS_WITHOUT_PROGRESS = 2


class _Exchange:
    """One URL's request and what came back for it so far."""

    def __init__(self, index: int, target: Target) -> None:
        self.index = index
        self.target = target
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.done = False
        self.refused = False  # never processed by the server: may be sent again


def fetch_http2(
    urls: Sequence[str],
    *,
    new_tls: TLSClientFactory,
    method: str = "GET",
    timeout: float = 10.0,
    observer: Observer | None = None,
) -> list[FetchResult]:
    """Fetch `urls` (https://, one origin) over one HTTP/2 connection; results in URL order."""
    targets = [Target.from_url(url) for url in urls]
    origins = {(target.scheme, target.host, target.port) for target in targets}
    if len(origins) != 1 or targets[0].scheme != "https":
        raise ClientError("HTTP/2 fetches https:// URLs of one origin per connection")
    results: list[FetchResult | None] = [None] * len(targets)
    waiting = [_Exchange(index, target) for index, target in enumerate(targets)]
    without_progress = 0
    while waiting:
        before = len(waiting)
        waiting = _one_connection(waiting, results, new_tls, method, timeout, observer)
        observer = None  # the trace shows the first connection
        without_progress = without_progress + 1 if len(waiting) == before else 0
        if without_progress >= MAX_CONNECTIONS_WITHOUT_PROGRESS:
            raise ClientError("the server refused every request (HTTP/2 REFUSED_STREAM)")
    return [result for result in results if result is not None]


def _one_connection(
    exchanges: list[_Exchange],
    results: list[FetchResult | None],
    new_tls: TLSClientFactory,
    method: str,
    timeout: float,
    observer: Observer | None,
) -> list[_Exchange]:
    """Run what one connection can; returns the exchanges to try again on a new one."""
    target = exchanges[0].target
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout)
    except OSError as error:
        raise ClientError(f"cannot connect to {target.host}:{target.port}: {error}") from None
    with sock:
        try:
            channel = BlockingTLS(sock, new_tls(target.host, target.port, observer=observer))
            channel.handshake()
            negotiated = channel.tls.negotiated
            if negotiated is None or negotiated.alpn != HTTP2:
                # The server speaks HTTP/1.1 only: one request per connection, as fetch() does.
                channel.close()
                for exchange in exchanges:
                    url = _url(exchange.target)
                    results[exchange.index] = fetch(url, new_tls=new_tls, method=method)
                return []
            left = _run_streams(channel, exchanges, method)
            channel.close()
        except TLSError as error:
            raise ClientError(f"TLS failed: {error}") from None
        except HTTP2Error as error:
            raise ClientError(f"HTTP/2 failed: {error}") from None
        except TimeoutError:
            raise ClientError("timed out waiting for the server") from None
        except OSError as error:
            raise ClientError(f"connection failed: {error}") from None
    for exchange in exchanges:
        if exchange.done:
            response = HttpResponse(
                VERSION, exchange.status, "", exchange.headers, bytes(exchange.body)
            )
            results[exchange.index] = FetchResult(response, negotiated)
    return left


def _run_streams(channel: BlockingTLS, exchanges: list[_Exchange], method: str) -> list[_Exchange]:
    connection = ClientConnection()
    connection.initiate()
    unsent = list(exchanges)
    by_stream: dict[int, _Exchange] = {}
    while True:
        while unsent and connection.can_open_stream:
            exchange = unsent.pop(0)
            stream_id = connection.send_request(_request_fields(exchange.target, method))
            by_stream[stream_id] = exchange
        output = connection.data_to_send()
        if output:
            channel.send(output)
        if not by_stream and (not unsent or not connection.can_open_stream):
            break
        data, finished = channel.receive()
        for event in connection.receive_data(data) if data else ():
            if isinstance(event, ConnectionFailed):
                raise ClientError(f"HTTP/2 connection error: {event.reason}")
            if isinstance(event, GoAwayReceived) and event.error_code != ErrorCode.NO_ERROR:
                raise ClientError(f"the server sent GOAWAY {ErrorCode(event.error_code).name}")
            stream_id = getattr(event, "stream_id", None)
            exchange = by_stream.get(stream_id) if stream_id is not None else None
            if exchange is None:
                continue
            if isinstance(event, ResponseReceived) and not event.informational:
                exchange.status = int(dict(event.fields)[":status"])
                exchange.headers = [(n, v) for n, v in event.fields if not n.startswith(":")]
            elif isinstance(event, DataReceived):
                exchange.body += event.data
            elif isinstance(event, TrailersReceived):
                exchange.headers += event.fields
            elif isinstance(event, StreamEnded):
                exchange.done = True
                del by_stream[stream_id]
            elif isinstance(event, StreamReset):
                del by_stream[stream_id]
                if event.error_code != ErrorCode.REFUSED_STREAM:
                    raise ClientError(
                        f"the server reset the stream for {exchange.target.path}: "
                        f"{_error_name(event.error_code)}"
                    )
                exchange.refused = True
        if finished:
            if by_stream:
                raise ClientError("the server closed the connection before answering")
            break
    return [exchange for exchange in exchanges if not exchange.done]


def _request_fields(target: Target, method: str) -> list[tuple[str, str]]:
    # RFC 9113 section 8.3.1: the pseudo-header fields first; :authority instead of Host.
    return [
        (":method", method),
        (":scheme", target.scheme),
        (":authority", target.host_header),
        (":path", target.path),
        ("user-agent", "tls-web-server-client"),
        ("accept", "*/*"),
    ]


def _url(target: Target) -> str:
    return f"{target.scheme}://{target.host_header}{target.path}"


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"
