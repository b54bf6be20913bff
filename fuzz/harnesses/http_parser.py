"""Fuzz the HTTP/1.1 request parser: fed whole or in random splits, it says the same thing.

The input is the plaintext a client sends.  It is parsed twice: fed in one
piece, and fed in TCP chunks cut at points derived from the input (with
`next_request` drained after every chunk, as the pipeline does).  Either
way only HttpError may escape, with a 4xx or 5xx status, and both runs must
give the same requests in the same order and the same error status.

Half the inputs (chosen from the input's checksum) run with tiny limits, so
that 413, 414 and 431 are within a mutation's reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from tls_web_server.http.messages import HttpError, Request
from tls_web_server.http.parser import HttpLimits, RequestParser

from ..support import fail, input_random, tcp_chunks

SMALL_LIMITS = HttpLimits(
    max_request_line=64, max_header_bytes=256, max_header_count=8, max_body_size=64
)
DEFAULT_LIMITS = HttpLimits()


@dataclass(frozen=True)
class Outcome:
    requests: tuple[Request, ...]
    error_status: int | None


def test_one_input(data: bytes) -> None:
    limits = SMALL_LIMITS if input_random(data).random() < 0.5 else DEFAULT_LIMITS
    whole = parse(limits, [data])
    split = parse(limits, tcp_chunks(data))
    if whole != split:
        raise fail(f"fed whole: {whole}\nfed in chunks: {split}")


def parse(limits: HttpLimits, chunks: list[bytes]) -> Outcome:
    parser = RequestParser(limits)
    requests: list[Request] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while (request := parser.next_request()) is not None:
                _check_request(request)
                requests.append(request)
    except HttpError as error:
        if not 400 <= error.status <= 599 or not error.reason:
            raise fail(
                f"HttpError with status {error.status} and reason {error.reason!r}"
            ) from None
        _check_error_repeats(parser, error)
        return Outcome(tuple(requests), error.status)
    return Outcome(tuple(requests), None)


def _check_request(request: Request) -> None:
    if request.version not in ("HTTP/1.0", "HTTP/1.1"):
        raise fail(f"a request with version {request.version!r}")
    if not request.method or not request.target:
        raise fail(f"a request without method or target: {request!r}")
    for name, _value in request.headers:
        if name != name.lower():
            raise fail(f"header name {name!r} was not lowercased")


def _check_error_repeats(parser: RequestParser, first: HttpError) -> None:
    """parser.py: "after one, the parser is dead": every later call raises the same error."""
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    try:
        parser.next_request()
    except HttpError as again:
        if again.status != first.status:
            raise fail(f"a dead parser raised {again.status} after {first.status}") from None
        return
    raise fail("the parser went on after an HttpError")
