"""HTTP/2 (RFC 9113) with HPACK (RFC 7541), sans-IO: bytes in, events out.

frames.py is the one grammar of the wire format; hpack.py (with
huffman_table.py) compresses field sections; streams.py holds the stream
state machine of RFC 9113 section 5.1 as data; connection.py is what both
roles share (settings, flow control, the DATA scheduler), server.py and
client.py add what each role checks; exchange.py turns HTTP/2 requests into
the http/ layer's Request and its Response back into HTTP/2 fields.

Nothing here touches a socket, a TLS object or the clock.
"""
