"""Whole conversations in memory: our client with our server, and each with python-hyper's h2.

h2 (the HTTP/2 of httpx and of many Python servers) is an independent
implementation: if both of our halves agreed on a misreading of RFC 9113,
these tests would still catch it.
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events

from tls_web_server.http2 import events as ours
from tls_web_server.http2.client import ClientConnection
from tls_web_server.http2.errors import ErrorCode
from tls_web_server.http2.scheduler import BufferedBody
from tls_web_server.http2.server import ServerConnection


def request(path: str) -> list[tuple[str, str]]:
    return [(":method", "GET"), (":scheme", "https"), (":authority", "example"), (":path", path)]


def body_for(path: str) -> bytes:
    size = int(path.rsplit("/", 1)[1])
    return bytes(n % 251 for n in range(size))


def serve(server: ServerConnection, events: list[ours.Event]) -> None:
    """A tiny application: GET /size/N answers N bytes, with a trailer on /trailer/N."""
    for event in events:
        if isinstance(event, ours.RequestReceived):
            path = dict(event.fields)[":path"]
            body = body_for(path)
            server.send_response(event.stream_id, [(":status", "200")])
            trailers = [("x-size", str(len(body)))] if path.startswith("/trailer") else None
            server.send_body(event.stream_id, BufferedBody(body, finished=True), trailers)


def test_our_client_and_server_share_one_connection_for_concurrent_streams() -> None:
    client, server = ClientConnection(), ServerConnection()
    client.initiate()
    server.initiate()
    paths = ["/size/0", "/size/10", "/size/300000", "/trailer/70000", "/size/16384"]
    stream_paths = {client.send_request(request(path)): path for path in paths}
    assert sorted(stream_paths) == [1, 3, 5, 7, 9]
    bodies: dict[int, bytearray] = {stream_id: bytearray() for stream_id in stream_paths}
    heads: dict[int, dict[str, str]] = {}
    trailers: dict[int, dict[str, str]] = {}
    ended: set[int] = set()
    for _ in range(200):
        serve(server, server.receive_data(client.data_to_send()))
        for event in client.receive_data(server.data_to_send()):
            if isinstance(event, ours.ResponseReceived):
                heads[event.stream_id] = dict(event.fields)
            elif isinstance(event, ours.DataReceived):
                bodies[event.stream_id] += event.data
            elif isinstance(event, ours.TrailersReceived):
                trailers[event.stream_id] = dict(event.fields)
            elif isinstance(event, ours.StreamEnded):
                ended.add(event.stream_id)
        if len(ended) == len(paths):
            break
    assert ended == set(stream_paths)
    for stream_id, path in stream_paths.items():
        assert heads[stream_id][":status"] == "200"
        assert bytes(bodies[stream_id]) == body_for(path)
    assert trailers == {7: {"x-size": "70000"}}
    assert not client.streams and not server.streams


def test_h2_as_client_against_our_server() -> None:
    peer = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="latin-1")
    )
    peer.initiate_connection()
    server = ServerConnection()
    server.initiate()
    paths = {1: "/size/200000", 3: "/size/5", 5: "/trailer/40000"}
    for stream_id, path in paths.items():
        peer.send_headers(stream_id, request(path), end_stream=True)
    bodies = {stream_id: bytearray() for stream_id in paths}
    ended: set[int] = set()
    trailers = {}
    statuses = {}
    for _ in range(200):
        serve(server, server.receive_data(peer.data_to_send()))
        for event in peer.receive_data(server.data_to_send()):
            if isinstance(event, h2.events.ResponseReceived):
                statuses[event.stream_id] = dict(event.headers)[":status"]
            elif isinstance(event, h2.events.DataReceived):
                bodies[event.stream_id] += event.data
                peer.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.TrailersReceived):
                trailers[event.stream_id] = dict(event.headers)
            elif isinstance(event, h2.events.StreamEnded):
                ended.add(event.stream_id)
        if ended == set(paths):
            break
    assert ended == set(paths)
    assert statuses == {1: "200", 3: "200", 5: "200"}
    for stream_id, path in paths.items():
        assert bytes(bodies[stream_id]) == body_for(path)
    assert trailers == {5: {"x-size": "40000"}}
    # h2 pings, then closes; we answer the ping and report the GOAWAY.
    peer.ping(b"h2-ping!")
    assert ours.PingReceived(b"h2-ping!") in server.receive_data(peer.data_to_send())
    answers = peer.receive_data(server.data_to_send())
    assert any(isinstance(event, h2.events.PingAckReceived) for event in answers)
    peer.close_connection()
    events = server.receive_data(peer.data_to_send())
    assert any(isinstance(event, ours.GoAwayReceived) for event in events)
    assert server.is_finished


def test_h2_sees_our_stream_errors() -> None:
    peer = h2.connection.H2Connection(
        h2.config.H2Configuration(
            client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False
        )
    )
    peer.initiate_connection()
    server = ServerConnection()
    server.initiate()
    peer.send_headers(1, [*request("/size/1"), ("connection", "close")], end_stream=True)
    server.receive_data(peer.data_to_send())
    resets = [
        event
        for event in peer.receive_data(server.data_to_send())
        if isinstance(event, h2.events.StreamReset)
    ]
    assert [(r.stream_id, r.error_code) for r in resets] == [(1, ErrorCode.PROTOCOL_ERROR)]


def test_our_client_against_h2_as_server() -> None:
    peer = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding="latin-1")
    )
    peer.initiate_connection()
    client = ClientConnection()
    client.initiate()
    stream_ids = [client.send_request(request(f"/size/{n}")) for n in (100, 50_000, 0)]
    bodies = {stream_id: bytearray() for stream_id in stream_ids}
    pending: dict[int, bytes] = {}
    ended: set[int] = set()
    for _ in range(200):
        for event in peer.receive_data(client.data_to_send()):
            if isinstance(event, h2.events.RequestReceived):
                body = body_for(dict(event.headers)[":path"])
                peer.send_headers(event.stream_id, [(":status", "200")], end_stream=not body)
                if body:
                    pending[event.stream_id] = body
        for stream_id, body in list(pending.items()):
            # h2 leaves flow control to its caller: send what the windows allow.
            room = min(peer.local_flow_control_window(stream_id), peer.max_outbound_frame_size)
            if room > 0:
                peer.send_data(stream_id, body[:room], end_stream=len(body) <= room)
                pending[stream_id] = body[room:]
                if not pending[stream_id]:
                    del pending[stream_id]
        for event in client.receive_data(peer.data_to_send()):
            if isinstance(event, ours.DataReceived):
                bodies[event.stream_id] += event.data
            elif isinstance(event, ours.StreamEnded):
                ended.add(event.stream_id)
        if ended == set(stream_ids):
            break
    assert ended == set(stream_ids)
    assert [len(bodies[stream_id]) for stream_id in stream_ids] == [100, 50_000, 0]
    assert bytes(bodies[stream_ids[1]]) == body_for("/size/50000")
