"""Our blocking client (`tls-web-server get`, the demo, tests): TLS and HTTP over one socket.

    fetch.py   URL -> socket -> [TLS object] -> ResponseReader

Like server/, it may import both tls/ and http/; nothing below imports it.
"""
