"""Which site and which location answer a request, with nginx's meaning.

What this module owns: the HTTP side's settings objects (`SiteSettings`,
`LocationSettings`), virtual host selection by the Host header, and
longest-prefix location matching.

What it must never do: read the config model (server/listeners.py translates it
into these settings), touch the filesystem, or look at anything in the
request but the host and the path.  It decides nothing about safety: the
path it receives has already been decoded and checked by static.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class LocationSettings:
    """A `location PREFIX { root ...; index ...; }` block.

    `root` is an absolute directory; as with nginx's `root`, the whole request
    path (prefix included) is appended to it.  `index` lists the files tried,
    in order, for a request that names a directory.
    """

    prefix: str
    root: str
    index: tuple[str, ...] = ("index.html",)


@dataclass(frozen=True)
class SiteSettings:
    """A `server { ... }` block: the names it answers to and its locations."""

    server_names: tuple[str, ...]
    locations: tuple[LocationSettings, ...]

    # A site is a dictionary key on the request path (the server's access log
    # per site): hash its names and locations once, not on every lookup.
    @cached_property
    def _hash(self) -> int:
        return hash((self.server_names, self.locations))

    def __hash__(self) -> int:
        return self._hash

    def __getstate__(self) -> dict[str, object]:
        # String hashes differ between processes: a pickled site hashes afresh.
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state


def normalize_host(host: str | None) -> str | None:
    """The host name part of a Host value: port removed, lowercase, no trailing dot.

    "Example.COM.:8443" -> "example.com"; "[::1]:80" -> "[::1]".  None or an
    empty name gives None.
    """
    if not host:
        return None
    if host.startswith("["):
        # RFC 3986 section 3.2.2: an IPv6 literal is bracketed; the port follows "]".
        closing = host.find("]")
        name = host[: closing + 1] if closing >= 0 else host
    else:
        name, colon, port = host.rpartition(":")
        if not colon:
            name = port
    name = name.lower().rstrip(".")
    return name or None


class VirtualHosts:
    """The sites sharing one listener, chosen by the name the client asked for.

    nginx's order (http/ngx_http_core_module server_name): an exact name
    first, then the longest wildcard starting with "*.", else the default
    server.  A wildcard "*.example.com" matches "www.example.com" and
    "a.b.example.com", but not "example.com" itself.  When two sites claim
    the same name, the first one keeps it.
    """

    def __init__(self, sites: Sequence[SiteSettings], default: SiteSettings) -> None:
        self.default = default
        self._exact: dict[str, SiteSettings] = {}
        wildcards: dict[str, SiteSettings] = {}
        for site in sites:
            for server_name in site.server_names:
                name = server_name.lower().rstrip(".")
                if name.startswith("*."):
                    wildcards.setdefault(name[1:], site)  # keep ".example.com"
                elif name:
                    self._exact.setdefault(name, site)
        # Longest suffix first, so the most specific wildcard wins.
        self._wildcards = sorted(wildcards.items(), key=lambda item: len(item[0]), reverse=True)
        distinct = set((*sites, default))  # SiteSettings hash once (router.py keys them)
        # With one site, every name gets it: callers may skip working out the
        # host (`select` would only return this anyway).
        self.only_site: SiteSettings | None = default if len(distinct) == 1 else None

    def select(self, host: str | None) -> SiteSettings:
        """The site for a Host header value (or absolute-form authority); None -> default."""
        if self.only_site is not None:
            return self.only_site
        name = normalize_host(host)
        if name is None:
            return self.default
        site = self._exact.get(name)
        if site is not None:
            return site
        for suffix, wildcard_site in self._wildcards:
            if name.endswith(suffix) and len(name) > len(suffix):
                return wildcard_site
        return self.default


def match_location(site: SiteSettings, path: str) -> LocationSettings | None:
    """The location with the longest prefix of `path`, or None when none matches.

    As in nginx, a prefix is compared as a plain string: "/img" also matches
    "/imgs/a.png".  Write "/img/" to mean the folder only.
    """
    best: LocationSettings | None = None
    for location in site.locations:
        if path.startswith(location.prefix) and (
            best is None or len(location.prefix) > len(best.prefix)
        ):
            best = location
    return best
