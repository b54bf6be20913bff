"""tls-web-server: a readable web server with its own TLS, from TCP bytes to static files.

Layers (each a sub-package, each importing only the layers below it):

    server/ the wiring: config -> listeners, a TLS transport and an HTTP session
            per connection, worker processes, logs; where the layers meet
    client/ our blocking client, over the same TLS objects and HTTP reader
    tcp/    sockets only: the event loop, connections, deadlines
    tls/    sans-IO TLS: the learning protocol (toy/) and RFC 8446 (tls13/)
    http/   sans-IO HTTP/1.1: parser, router, static files
    config/ the nginx-style configuration file
"""

__version__ = "0.1.0"
