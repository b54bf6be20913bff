"""Virtual host selection and longest-prefix locations, with nginx's meaning."""

from __future__ import annotations

import pytest

from tls_web_server.http.router import (
    LocationSettings,
    SiteSettings,
    VirtualHosts,
    match_location,
    normalize_host,
)


def make_site(*names: str) -> SiteSettings:
    return SiteSettings(names, (LocationSettings("/", f"/srv/{names[0] if names else 'x'}"),))


DEFAULT = make_site("default.test")
EXACT = make_site("www.example.com", "example.com")
WILDCARD = make_site("*.example.com")
DEEPER_WILDCARD = make_site("*.api.example.com")
SHADOWED = make_site("example.com")  # a second site claiming a taken name
HOSTS = VirtualHosts([EXACT, WILDCARD, DEEPER_WILDCARD, SHADOWED], DEFAULT)


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("www.example.com", EXACT),
        ("example.com", EXACT),  # the first site to claim a name keeps it
        ("WWW.Example.COM", EXACT),
        ("www.example.com.", EXACT),
        ("www.example.com:8443", EXACT),
        ("example.com.:80", EXACT),
        ("shop.example.com", WILDCARD),
        ("a.b.example.com", WILDCARD),
        ("v1.api.example.com", DEEPER_WILDCARD),
        ("api.example.com", WILDCARD),  # "*.api.example.com" needs a label before
        ("notexample.com", DEFAULT),
        ("example.org", DEFAULT),
        ("", DEFAULT),
        (None, DEFAULT),
        ("[::1]:8080", DEFAULT),
        ("127.0.0.1", DEFAULT),
    ],
)
def test_select(host: str | None, site: SiteSettings) -> None:
    assert HOSTS.select(host) is site


def test_ip_literal_server_names() -> None:
    loopback6 = make_site("[::1]")
    loopback4 = make_site("127.0.0.1")
    hosts = VirtualHosts([loopback6, loopback4], DEFAULT)
    assert hosts.select("[::1]:443") is loopback6
    assert hosts.select("[::1]") is loopback6
    assert hosts.select("127.0.0.1:80") is loopback4


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("Example.COM.:8443", "example.com"),
        ("[::1]:80", "[::1]"),
        ("[::1]", "[::1]"),
        ("host:", "host"),
        (".", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_host(host: str | None, name: str | None) -> None:
    assert normalize_host(host) == name


ROOT = LocationSettings("/", "/srv/root")
IMG = LocationSettings("/img", "/srv/img")
IMAGES = LocationSettings("/images/", "/srv/images")
API = LocationSettings("/api/v1/", "/srv/api")
SITE = SiteSettings(("x",), (ROOT, IMAGES, IMG, API))


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/", ROOT),
        ("/index.html", ROOT),
        ("/img/a.png", IMG),
        ("/imgx", IMG),  # plain string prefix, as in nginx
        ("/images/a.png", IMAGES),
        ("/images", ROOT),  # "/images/" needs the slash
        ("/api/v1/users", API),
        ("/api/v2/users", ROOT),
    ],
)
def test_longest_prefix(path: str, location: LocationSettings) -> None:
    assert match_location(SITE, path) is location


def test_no_location_matches() -> None:
    site = SiteSettings(("x",), (IMAGES,))
    assert match_location(site, "/other") is None
    assert match_location(SiteSettings(("x",), ()), "/") is None
