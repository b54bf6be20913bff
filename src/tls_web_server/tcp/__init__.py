"""Sockets only: the event loop, one connection, deadlines.

    loop.py        selectors, accepting, the connection cap, graceful stop
    connection.py  one socket: output queue, back-pressure, half-close, linger
    deadlines.py   one timer per connection in one heap

It knows nothing of TLS, HTTP or the config and imports nothing else of
ours: what runs over a connection is its `ConnectionProtocol` (server/).
"""
