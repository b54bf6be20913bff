"""Helpers for the toytls tests: build a client/server pair, run a handshake, slice bytes."""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Callable

from tls_web_server.tls import pki
from tls_web_server.tls.api import Observer
from tls_web_server.tls.toy import ToyTLSClientConnection, ToyTLSServerConnection

from ..conftest import DemoPki

RandomSource = Callable[[int], bytes]


def seeded_random(seed: int) -> RandomSource:
    """A reproducible random source, so a handshake can be replayed byte for byte."""
    return random.Random(seed).randbytes


def make_pair(
    demo: DemoPki,
    *,
    server_name: str = "localhost",
    roots: tuple[pki.Certificate, ...] | None = None,
    now: float | None = None,
    credentials: pki.ServerCredentials | None = None,
    server_random: RandomSource = os.urandom,
    client_random: RandomSource = os.urandom,
    server_observer: Observer | None = None,
    client_observer: Observer | None = None,
) -> tuple[ToyTLSServerConnection, ToyTLSClientConnection]:
    server = ToyTLSServerConnection(
        credentials or demo.credentials, random_bytes=server_random, observer=server_observer
    )
    client = ToyTLSClientConnection(
        server_name,
        demo.roots if roots is None else roots,
        random_bytes=client_random,
        now=demo.now if now is None else now,
        observer=client_observer,
    )
    return server, client


def handshake(server: ToyTLSServerConnection, client: ToyTLSClientConnection) -> None:
    """Deliver the ClientHello, then the server's flight."""
    server.feed_wire_data(client.pop_pending_wire_data())
    client.feed_wire_data(server.pop_pending_wire_data())


def established_pair(demo: DemoPki) -> tuple[ToyTLSServerConnection, ToyTLSClientConnection]:
    server, client = make_pair(demo)
    handshake(server, client)
    return server, client


def trickle(
    feed: Callable[[bytes], None], data: bytes, rng: random.Random, low: int = 2, high: int = 5
) -> None:
    """Feed `data` in slices of `low` to `high` bytes, as a slow network would."""
    offset = 0
    while offset < len(data):
        size = rng.randint(low, high)
        feed(data[offset : offset + size])
        offset += size


def split_records(wire: bytes) -> list[bytes]:
    """Cut wire bytes into whole records (length header included)."""
    records = []
    offset = 0
    while offset < len(wire):
        (length,) = struct.unpack_from(">I", wire, offset)
        records.append(wire[offset : offset + 4 + length])
        offset += 4 + length
    return records
