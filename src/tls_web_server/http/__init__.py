"""HTTP/1.1 for a static file server: sans-IO, plaintext only.

The layer receives plaintext bytes (TLS, if any, was already removed below
it) and hands back responses whose file bodies are open file ranges:

    parser = RequestParser(limits)
    parser.feed(plaintext)
    while (request := parser.next_request()) is not None:   # HttpError -> error_response
        site = virtual_hosts.select(request.host)
        response = respond(request, site, now)
        send(encode_head(response)); send the body; close a FileBody's file

What this package must never do: import tcp, tls, config, server or client
(server/listeners.py translates the config into these settings objects),
touch a socket, or read the clock (`now` is always a parameter).
"""

from .messages import REASON_PHRASES, FileBody, HttpError, Request, Response
from .parser import HttpLimits, RequestParser
from .router import LocationSettings, SiteSettings, VirtualHosts, match_location
from .static import error_response, respond
from .writer import encode_head, http_date

__all__ = [
    "REASON_PHRASES",
    "FileBody",
    "HttpError",
    "HttpLimits",
    "LocationSettings",
    "Request",
    "RequestParser",
    "Response",
    "SiteSettings",
    "VirtualHosts",
    "encode_head",
    "error_response",
    "http_date",
    "match_location",
    "respond",
]
