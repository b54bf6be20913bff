"""Whatever text arrives, parse_config answers with a Config or a ConfigError, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.config import Config, ConfigError, parse_config
from tls_web_server.config.directives import RULES

# A path that does not exist, so relative certificate paths in the noise fail to open.
CONFIG_PATH = "/nonexistent-config-tests/site.conf"

# Pieces that steer random text into the deeper rules: real directive names, punctuation,
# quotes, escapes, units, listen parameters and odd addresses.
FRAGMENTS = [
    *RULES,
    *"{};#'\"\\ \n\t\r*:[]",
    "8080",
    "0",
    "70000",
    "[::]:443",
    "127.0.0.1:",
    "localhost:",
    "ssl",
    "toytls",
    "default_server",
    "auto",
    "on",
    "off",
    "stdout",
    "stderr",
    "10m",
    "500ms",
    "1d",
    "TLSv1.3",
    "TLS_AES_128_GCM_SHA256:",
    "X25519:P-256",
    "/",
    "/a/",
    "~",
    "*.example.com",
    "=",
    "html",
    "\x00",
    "é",
]

noise = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=60).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(noise)
def test_random_text_raises_only_config_error(text: str) -> None:
    try:
        result = parse_config(text, CONFIG_PATH)
    except ConfigError as error:
        assert error.position.file == CONFIG_PATH
        assert error.message
        assert str(error).startswith(f"{CONFIG_PATH}:{error.position.line}:{error.position.col}: ")
    else:
        assert isinstance(result, Config)


def server_body(*directives: str) -> str:
    return "http { server { listen 80; " + " ".join(directives) + " } }"


@given(
    st.integers(0, 10_000),
    st.sampled_from([("", 1000), ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]),
)
def test_times_in_every_unit_up_to_the_cap(number: int, unit: tuple[str, int]) -> None:
    suffix, milliseconds = unit
    text = server_body(f"send_timeout {number}{suffix};")
    if number * milliseconds > 2**31 - 1:
        with pytest.raises(ConfigError, match="at most 2147483647ms"):
            parse_config(text, CONFIG_PATH)
    else:
        timeout = parse_config(text, CONFIG_PATH).servers[0].send_timeout
        assert timeout == number * milliseconds / 1000


@given(
    st.integers(0, 100_000),
    st.sampled_from([("", 1), ("k", 1024), ("K", 1024), ("m", 1024**2), ("G", 1024**3)]),
)
def test_sizes_in_every_unit(number: int, unit: tuple[str, int]) -> None:
    suffix, factor = unit
    config = parse_config(server_body(f"client_max_body_size {number}{suffix};"), CONFIG_PATH)
    assert config.servers[0].client_max_body_size == number * factor


@given(st.text(alphabet=st.characters(blacklist_characters="\\'\x00"), min_size=1, max_size=30))
def test_any_single_quoted_root_survives_the_round_trip(name: str) -> None:
    config = parse_config(server_body(f"root '/srv/{name}';"), CONFIG_PATH)
    assert config.servers[0].locations[0].root == Path(os.path.normpath(f"/srv/{name}"))
