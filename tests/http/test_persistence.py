"""http/persistence.py: the last response on a connection is decided in http/, headers included."""

from __future__ import annotations

import pickle

from tls_web_server.http.messages import Response
from tls_web_server.http.persistence import limit_requests_per_connection, make_last
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.http.writer import encode_head


def keep_alive_response() -> Response:
    headers = [("Content-Length", "2"), ("Connection", "keep-alive")]
    response = Response(200, headers, b"ok", keep_alive=True)
    response.encoded_head = encode_head(response)
    return response


def test_responses_before_the_limit_keep_the_connection():
    response = keep_alive_response()
    limit_requests_per_connection(response, requests_served=99, keepalive_requests=100)
    assert response.keep_alive
    assert response.header("connection") == "keep-alive"


def test_the_response_to_the_last_allowed_request_closes_and_says_so():
    response = keep_alive_response()
    limit_requests_per_connection(response, requests_served=100, keepalive_requests=100)
    assert not response.keep_alive
    assert [value for name, value in response.headers if name.lower() == "connection"] == ["close"]
    # The cached head was dropped, so what is sent is what the headers now say.
    assert response.encoded_head is None
    assert b"Connection: close\r\n" in encode_head(response)


def test_a_response_that_already_closes_is_left_alone():
    response = Response(400, [("Connection", "close")], b"", keep_alive=False)
    response.encoded_head = b"cached"
    limit_requests_per_connection(response, requests_served=5, keepalive_requests=1)
    assert response.encoded_head == b"cached"
    assert response.headers == [("Connection", "close")]


def test_make_last_adds_connection_close_when_there_was_no_connection_header():
    response = Response(200, [("Content-Length", "0")], b"", keep_alive=True)
    make_last(response)
    assert response.headers == [("Content-Length", "0"), ("Connection", "close")]
    assert not response.keep_alive


def test_body_length_counts_what_follows_the_head():
    assert Response(304, [], None, keep_alive=True).body_length == 0
    assert Response(200, [], b"12345", keep_alive=True).body_length == 5


def test_a_site_is_a_dictionary_key_that_survives_pickling():
    # The server looks a site's access log up per request; workers may get the
    # config pickled, where string hashes of another process must not travel.
    site = SiteSettings(("example.com",), (LocationSettings("/", "/srv"),))
    same = SiteSettings(("example.com",), (LocationSettings("/", "/srv"),))
    logs = {site: "log"}  # hashes `site` once and keeps the hash
    assert logs[same] == "log"
    copy = pickle.loads(pickle.dumps(site))
    assert "_hash" not in copy.__dict__  # computed afresh in the process that unpickles
    assert copy == site and logs[copy] == "log"
