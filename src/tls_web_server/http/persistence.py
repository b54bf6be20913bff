"""Whether the connection stays open after a response (RFC 9112 section 9.3), decided here.

static.py already honours what the request asked for (HTTP/1.0 without
keep-alive, `Connection: close`).  This module adds the server's own limit
and is the one place that turns a keep-alive response into the last one on
its connection, headers and `keep_alive` together, so what the client reads
and what the server does cannot disagree.

What it must never do: touch a socket or close anything itself; the caller
closes the connection once a response with `keep_alive` False has left.
"""

from __future__ import annotations

from .messages import Response


def limit_requests_per_connection(
    response: Response, *, requests_served: int, keepalive_requests: int
) -> None:
    """nginx's keepalive_requests: the response to the last allowed request closes."""
    if response.keep_alive and requests_served >= keepalive_requests:
        make_last(response)


def make_last(response: Response) -> None:
    """Turn a keep-alive response into the last one on its connection (RFC 9112 section 9.6)."""
    response.headers = [
        (name, value) for name, value in response.headers if name.lower() != "connection"
    ]
    response.headers.append(("Connection", "close"))
    response.encoded_head = None  # the headers changed: encode them again
    response.keep_alive = False
