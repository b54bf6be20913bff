"""Issue 5: the configuration codec (lexer, parser, model), checked with hypothesis.

Properties:
- a configuration generated here (main settings, events, http settings, server
  blocks with listens, names, locations and directives with valid values) and
  printed by the small printer below, with varied spacing, comments and
  quoting, parses into a model holding exactly the values it was built from;
  every position the model keeps points at its directive in the text;
- the printed text with one character replaced, inserted or deleted, or cut
  short, either raises ConfigError naming a line:column inside the text (or
  0:0, "the file as a whole", for the one error that has no place: a missing
  http block), or parses into a Config whose positions still point inside it.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.config import Config, ConfigError, Position, parse_config
from tls_web_server.config.directives import (
    CIPHER_SUITES,
    SIZE_UNIT_BYTES,
    TIME_UNIT_MILLISECONDS,
)
from tls_web_server.config.model import SERVER_DEFAULTS
from tls_web_server.config.tls_names import GROUP_SPELLINGS

CONFIG_DIR = "/nonexistent-codec-properties/conf"
CONFIG_PATH = f"{CONFIG_DIR}/site.conf"
# The model proves certificate files can be opened (it does not parse them):
# this very file is a readable regular file that is sure to exist.
READABLE_FILE = str(Path(__file__).resolve())


def resolved(path: str) -> Path:
    return Path(os.path.normpath(os.path.join(CONFIG_DIR, path)))


# --- The tree a configuration is printed from -------------------------------------------------


@dataclass
class Node:
    """One directive to print: its name, its arguments and, for a block, its children."""

    name: str
    arguments: list[str]
    children: list[Node] | None = None


@dataclass
class ExpectedServer:
    listens: list[tuple[str, int, str, bool]]
    server_names: list[str]
    settings: dict[str, Any]  # ServerConfig field -> value, after inheritance
    locations: dict[str, tuple[Path, tuple[str, ...]]]  # prefix -> (root, index)


@dataclass
class Generated:
    tree: list[Node]
    worker_processes: int | None = 1
    worker_connections: int = 512
    error_log: Path | str = "stderr"
    servers: list[ExpectedServer] = field(default_factory=list)


# Each value strategy gives (the argument text, the value the model must read from it).
time_values = (
    st.tuples(st.integers(0, 100_000), st.sampled_from(sorted(TIME_UNIT_MILLISECONDS)))
    .map(lambda pair: (f"{pair[0]}{pair[1]}", pair[0] * TIME_UNIT_MILLISECONDS[pair[1]] / 1000))
    .filter(lambda pair: pair[1] * 1000 <= 2**31 - 1)
)
size_values = st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(SIZE_UNIT_BYTES))).map(
    lambda pair: (f"{pair[0]}{pair[1]}", pair[0] * SIZE_UNIT_BYTES[pair[1]])
)
path_words = st.text(alphabet="abcxyz019-_.", min_size=1, max_size=8)
paths = st.one_of(
    st.lists(path_words, min_size=1, max_size=3).map("/".join),
    st.lists(path_words, min_size=1, max_size=3).map(lambda parts: "/srv/" + "/".join(parts)),
).map(lambda path: (path, resolved(path)))
file_names = st.text(alphabet="abcxyz019-_.", min_size=1, max_size=10)
suite_lists = st.lists(st.sampled_from(CIPHER_SUITES), min_size=1, max_size=4).map(
    lambda suites: (":".join(suites), tuple(dict.fromkeys(suites)))
)
curve_lists = st.one_of(
    st.just(("auto", None)),  # the TLS layer's defaults, chosen in server/listeners.py
    st.lists(st.sampled_from(sorted(GROUP_SPELLINGS)), min_size=1, max_size=4).map(
        lambda names: (":".join(names), tuple(dict.fromkeys(GROUP_SPELLINGS[n] for n in names)))
    ),
)
access_logs = st.one_of(st.just(("off", None)), st.just(("stdout", "stdout")), paths)
error_logs = st.one_of(st.just(("stderr", "stderr")), paths)

# Single-argument settings a server reads, with the strategy of their values.
SERVER_SETTINGS: dict[str, st.SearchStrategy[tuple[str, Any]]] = {
    "keepalive_timeout": time_values,
    "client_header_timeout": time_values,
    "client_body_timeout": time_values,
    "send_timeout": time_values,
    "ssl_handshake_timeout": time_values,
    "client_max_body_size": size_values,
    "keepalive_requests": st.integers(0, 10_000).map(lambda number: (str(number), number)),
    "access_log": access_logs,
    "error_log": error_logs,
    "ssl_ciphers": suite_lists,
    "ssl_ecdh_curve": curve_lists,
    "ssl_session_tickets": st.sampled_from([("on", True), ("off", False)]),
    "ssl_certificate_compression": st.sampled_from([("on", True), ("off", False)]),
}
ADDRESSES = [
    ("", "0.0.0.0"),
    ("*:", "0.0.0.0"),
    ("localhost:", "127.0.0.1"),
    ("127.0.0.1:", "127.0.0.1"),
    ("10.20.30.40:", "10.20.30.40"),
    ("[::]:", "::"),
    ("[::1]:", "::1"),
]
# Exact names and leading "*." wildcards, in any case (the model lowercases them).
server_name_words = st.builds(
    lambda wildcard, labels: ("*." if wildcard else "") + ".".join(labels),
    st.booleans(),
    st.lists(st.text(alphabet="abcXYZ019-", min_size=1, max_size=8), min_size=1, max_size=3),
)
location_prefixes = st.text(alphabet="abz09/._-", max_size=10).map(lambda rest: "/" + rest)


@st.composite
def settings_block(draw: st.DrawFn) -> tuple[list[Node], dict[str, Any]]:
    """Some of the server-level settings, as directives and as model values."""
    names = draw(st.lists(st.sampled_from(sorted(SERVER_SETTINGS)), unique=True, max_size=5))
    nodes = []
    values: dict[str, Any] = {}
    for name in names:
        text, value = draw(SERVER_SETTINGS[name])
        nodes.append(Node(name, [text]))
        values[name] = value
    if draw(st.booleans()):
        count = draw(st.integers(1, 2))
        nodes.append(Node("ssl_protocols", ["TLSv1.3"] * count))
        values["ssl_protocols"] = ("TLSv1.3",)
    return nodes, values


@st.composite
def root_and_index(draw: st.DrawFn) -> tuple[list[Node], dict[str, Any]]:
    nodes: list[Node] = []
    values: dict[str, Any] = {}
    if draw(st.booleans()):
        text, path = draw(paths)
        nodes.append(Node("root", [text]))
        values["root"] = path
    if draw(st.booleans()):
        names = draw(st.lists(file_names, min_size=1, max_size=3))
        nodes.append(Node("index", names))
        values["index"] = tuple(names)
    return nodes, values


@st.composite
def configurations(draw: st.DrawFn) -> Generated:
    generated = Generated(tree=[])
    main = generated.tree
    if draw(st.booleans()):
        workers = draw(st.one_of(st.just("auto"), st.integers(1, 64).map(str)))
        main.append(Node("worker_processes", [workers]))
        generated.worker_processes = None if workers == "auto" else int(workers)
    if draw(st.booleans()):
        events: list[Node] = []
        if draw(st.booleans()):
            connections = draw(st.integers(1, 100_000))
            events.append(Node("worker_connections", [str(connections)]))
            generated.worker_connections = connections
        main.append(Node("events", [], events))
    if draw(st.booleans()):
        text, value = draw(error_logs)
        main.append(Node("error_log", [text]))
        generated.error_log = value

    http_nodes, http_values = draw(settings_block())
    http_paths, http_path_values = draw(root_and_index())
    http_nodes += http_paths
    inherited = {"error_log": generated.error_log, **http_values}
    if draw(st.booleans()):
        http_nodes += [
            Node("ssl_certificate", [READABLE_FILE]),
            Node("ssl_certificate_key", [READABLE_FILE]),
        ]
        inherited["ssl_certificate"] = inherited["ssl_certificate_key"] = Path(READABLE_FILE)

    server_count = draw(st.integers(1, 3))
    # Every listen gets a port of its own, so servers never disagree about a shared socket.
    ports = draw(
        st.lists(
            st.integers(1, 65535), min_size=3 * server_count, max_size=3 * server_count, unique=True
        )
    )
    for number in range(server_count):
        server_nodes, server_values = draw(settings_block())
        values = {**inherited, **server_values}
        listens = []
        listen_values: dict[str, tuple[str, int, str, bool]] = {}
        for port in ports[3 * number : 3 * number + draw(st.integers(1, 3))]:
            written, address = draw(st.sampled_from(ADDRESSES))
            protocol = draw(st.sampled_from(["plain", "ssl", "toytls"]))
            default_server = draw(st.booleans())
            flags = [] if protocol == "plain" else [protocol]
            flags += ["default_server"] if default_server else []
            flags = draw(st.permutations(flags))
            server_nodes.append(Node("listen", [f"{written}{port}", *flags]))
            listens.append((address, port, protocol, default_server))
            listen_values[f"{written}{port}"] = (address, port, protocol, default_server)
        if any(protocol != "plain" for _, _, protocol, _ in listens) and (
            "ssl_certificate" not in values
        ):
            server_nodes += [
                Node("ssl_certificate", [READABLE_FILE]),
                Node("ssl_certificate_key", [READABLE_FILE]),
            ]
            values["ssl_certificate"] = values["ssl_certificate_key"] = Path(READABLE_FILE)
        names = draw(st.lists(st.lists(server_name_words, min_size=1, max_size=3), max_size=2))
        for group in names:
            server_nodes.append(Node("server_name", group))
        path_nodes, path_values = draw(root_and_index())
        server_nodes += path_nodes
        root = path_values.get("root", http_path_values.get("root", resolved("html")))
        index = path_values.get("index", http_path_values.get("index", ("index.html",)))
        locations = {}
        prefixes = draw(st.lists(location_prefixes, unique=True, max_size=3))
        for prefix in prefixes:
            location_nodes, location_values = draw(root_and_index())
            server_nodes.append(Node("location", [prefix], location_nodes))
            locations[prefix] = (
                location_values.get("root", root),
                location_values.get("index", index),
            )
        locations.setdefault("/", (root, index))
        # Any order of directives means the same, but listens and names keep the file's order.
        server_nodes = draw(st.permutations(server_nodes))
        listens = [
            listen_values[node.arguments[0]] for node in server_nodes if node.name == "listen"
        ]
        names = [node.arguments for node in server_nodes if node.name == "server_name"]
        http_nodes.append(Node("server", [], list(server_nodes)))
        settings_now = {name: values.get(name, SERVER_DEFAULTS[name]) for name in SERVER_DEFAULTS}
        settings_now.pop("index")
        generated.servers.append(
            ExpectedServer(
                listens,
                list(dict.fromkeys(name.lower() for group in names for name in group)),
                settings_now,
                locations,
            )
        )
    main.append(Node("http", [], http_nodes))
    generated.tree = draw(st.permutations(main))
    return generated


# --- The printer ------------------------------------------------------------------------------

SEPARATORS = (" ", "  ", "\t", "\n", "\r\n", " \n  ", " # a comment; {}\n")
BARE_UNSAFE = frozenset(" \t\r\n;{}'\"#")


def printed_argument(argument: str, choose: random.Random) -> str:
    """The argument bare when it can be, else (or at random) quoted with its escapes."""
    if argument and not BARE_UNSAFE.intersection(argument) and choose.random() < 0.5:
        return argument
    quote = choose.choice("\"'")
    escaped = argument.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"


def printed(nodes: list[Node], choose: random.Random) -> str:
    """The directives as text; `choose` varies the spacing, comments and quoting.

    (A seeded random.Random, rather than a hypothesis draw per separator, keeps
    generation cheap; the seed is drawn, so a failing text is reproduced.)
    """
    parts: list[str] = []
    for node in nodes:
        parts += (choose.choice(SEPARATORS), node.name)
        for argument in node.arguments:
            parts += (choose.choice(SEPARATORS), printed_argument(argument, choose))
        if node.children is None:
            parts.append(choose.choice(("", " ", "\n")) + ";")
        else:
            parts.append(choose.choice(SEPARATORS) + "{")
            parts.append(printed(node.children, choose))
            parts.append(choose.choice(SEPARATORS) + "}")
    return "".join(parts)


# --- Checks -----------------------------------------------------------------------------------


def text_at(text: str, position: Position) -> str:
    line = text.split("\n")[position.line - 1]
    return line[position.col - 1 :]


def assert_inside(text: str, position: Position) -> None:
    assert position.file == CONFIG_PATH
    lines = text.split("\n")
    assert 1 <= position.line <= len(lines), position
    assert 1 <= position.col <= len(lines[position.line - 1]) + 1, position


def assert_positions_point_at_their_directives(text: str, config: Config) -> None:
    for server in config.servers:
        assert_inside(text, server.position)
        assert text_at(text, server.position).lstrip("\"'").startswith("server")
        for listen in server.listens:
            assert_inside(text, listen.position)
            assert text_at(text, listen.position).lstrip("\"'").startswith("listen")
        for location in server.locations:
            assert_inside(text, location.position)
        for position in server.directive_positions.values():
            assert_inside(text, position)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_printed_configurations_parse_into_the_values_they_were_built_from(
    data: st.DataObject,
) -> None:
    generated = data.draw(configurations(), label="configuration")
    text = printed(
        generated.tree, random.Random(data.draw(st.integers(0, 2**32), label="printer seed"))
    )
    config = parse_config(text, CONFIG_PATH)
    assert config.path == Path(CONFIG_PATH)
    assert config.worker_processes == generated.worker_processes
    assert config.worker_connections == generated.worker_connections
    assert config.error_log == generated.error_log
    assert len(config.servers) == len(generated.servers)
    for server, expected in zip(config.servers, generated.servers, strict=True):
        listens = [
            (each.address, each.port, each.protocol, each.default_server) for each in server.listens
        ]
        assert listens == expected.listens
        assert list(server.server_names) == expected.server_names
        for name, value in expected.settings.items():
            assert getattr(server, name) == value, name
        locations = {each.prefix: (each.root, each.index) for each in server.locations}
        assert locations == expected.locations
        # Longest prefix first: the router's one rule.
        assert [len(each.prefix) for each in server.locations] == sorted(
            (len(each.prefix) for each in server.locations), reverse=True
        )
    assert_positions_point_at_their_directives(text, config)


@st.composite
def mutations(draw: st.DrawFn, original: str) -> str:
    """`original` with one character replaced, inserted or deleted, or cut short."""
    kind = draw(st.sampled_from(["insert", "replace", "delete", "truncate"]))
    # Characters that mean something to the lexer, the parser or the value readers.
    character = draw(st.sampled_from(list(";{}#'\"\\ \n\t:*[]0123456789asklmx.-/\x00é")))
    if kind == "insert":
        position = draw(st.integers(0, len(original)))
        return original[:position] + character + original[position:]
    position = draw(st.integers(0, len(original) - 1))
    if kind == "replace":
        return original[:position] + character + original[position + 1 :]
    if kind == "delete":
        return original[:position] + original[position + 1 :]
    return original[:position]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_mutated_configuration_is_refused_at_a_place_inside_it_or_parses(
    data: st.DataObject,
) -> None:
    generated = data.draw(configurations(), label="configuration")
    text = printed(
        generated.tree, random.Random(data.draw(st.integers(0, 2**32), label="printer seed"))
    )
    mutated = data.draw(mutations(text), label="mutated")
    try:
        config = parse_config(mutated, CONFIG_PATH)
    except ConfigError as error:
        assert error.message
        assert str(error) == f"{error.position}: {error.message}"
        if (error.position.line, error.position.col) == (0, 0):
            assert "no http block" in error.message, error
        else:
            assert_inside(mutated, error.position)
    else:
        assert_positions_point_at_their_directives(mutated, config)
