"""The `tls-web-server` command: serve, get, certs.

    tls-web-server serve -c site.conf
    tls-web-server serve ./public          # http, https (TLS 1.3) and toytls with a local CA
    tls-web-server get https://localhost:8443/ --cafile certs/root_cert.pem -i -v
    tls-web-server get https://localhost:8444/ --toytls --cafile certs/root_cert.pem
    tls-web-server get --http2 https://localhost:8443/ https://localhost:8443/a.css -v
    tls-web-server certs certs/ --name localhost --key-type ecdsa-p256

Exit status: 0 on success; 1 when a request or the server failed; 2 for a
usage or configuration error (printed in one line naming file:line:col).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tls_web_server import __version__, quick_serve
from tls_web_server.client.fetch import (
    ClientError,
    TLSClientFactory,
    fetch,
    tls13_client_factory,
    toytls_client_factory,
)
from tls_web_server.client.http2_fetch import fetch_http2
from tls_web_server.config import ConfigError, Position, load_config, parse_config
from tls_web_server.http2.annotate import Http2Annotator
from tls_web_server.server.processes import run_server
from tls_web_server.server.server import ServerStartError
from tls_web_server.tls import pki
from tls_web_server.tls.tls13.client import TicketStore
from tls_web_server.tls.trace import Trace, render_text, use_color
from tls_web_server.tls.trace_html import render_html


def main(argv: list[str] | None = None) -> int:
    parser = _argument_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.handler(args)


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tls-web-server",
        description="A readable web server with its own TLS, from TCP bytes to static files.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the server from a config file, or serve a folder at once"
    )
    serve.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="serve this folder over http, https (TLS 1.3) and toytls with a local CA",
    )
    serve.add_argument("-c", "--config", type=Path, help="nginx-style configuration file")
    for name, default in (("http", 8080), ("https", 8443), ("toytls", 8444)):
        serve.add_argument(
            f"--{name}-port",
            type=int,
            metavar="N",
            help=f"port for {name} with a folder (default {default}, or a free one if taken)",
        )
    serve.add_argument(
        "--trace",
        action="store_true",
        help="print the diagram of every TLS connection when it closes (for teaching)",
    )
    serve.set_defaults(handler=_serve)

    get = commands.add_parser("get", help="fetch URLs with our own client")
    get.add_argument(
        "urls",
        nargs="+",
        metavar="URL",
        help="http://host:port/path (plain) or https://host:port/path (TLS 1.3, or --toytls)",
    )
    get.add_argument("--toytls", action="store_true", help="speak the learning protocol")
    get.add_argument(
        "--http2",
        action="store_true",
        help="offer HTTP/2 (ALPN h2): the URLs of one origin share one connection",
    )
    get.add_argument(
        "--cafile", type=Path, help="trusted root certificate (PEM); default: the system's"
    )
    get.add_argument("-i", "--include", action="store_true", help="print status line and headers")
    get.add_argument(
        "-v", "--verbose", action="store_true", help="one line per connection on what TLS agreed"
    )
    get.add_argument(
        "--trace",
        action="store_true",
        help="draw each TLS connection: messages, fields, key schedule, records",
    )
    get.add_argument(
        "--trace-html",
        type=Path,
        metavar="FILE",
        help="write each TLS connection as an HTML page annotating every byte",
    )
    get.add_argument(
        "--resume",
        action="store_true",
        help="resume each TLS 1.3 connection with a ticket from the previous one",
    )
    get.set_defaults(handler=_get)

    certs = commands.add_parser("certs", help="make a root CA, an intermediate and a server cert")
    certs.add_argument("outdir", type=Path)
    certs.add_argument(
        "--name",
        action="append",
        dest="names",
        metavar="DNS",
        help="a name for the server certificate (repeatable; default localhost)",
    )
    certs.add_argument("--key-type", choices=pki.KEY_TYPES, default="ecdsa-p256")
    certs.set_defaults(handler=_certs)
    return parser


def _serve(args: argparse.Namespace) -> int:
    if (args.config is None) == (args.directory is None):
        print("tls-web-server: serve needs either -c CONFIG or a DIRECTORY", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config) if args.config is not None else _quick_config(args)
        run_server(
            config,
            announce=_announcer(args),
            config_path=args.config,
            trace_output=_print_trace if args.trace else None,
        )
    except ConfigError as error:
        print(f"tls-web-server: {error}", file=sys.stderr)
        return 2
    except (ServerStartError, pki.PkiError) as error:
        print(f"tls-web-server: {error}", file=sys.stderr)
        return 1
    return 0


def _print_trace(diagram: str) -> None:
    print(diagram, end="", flush=True)


def _announcer(args: argparse.Namespace):
    """Prints each "listening on" line; for `serve DIR`, also how to fetch over TLS 1.3."""

    def announce(line: str) -> None:
        print(line, flush=True)
        if args.directory is not None and line.endswith("(TLSv1.3)"):
            url = line.split()[2].replace("127.0.0.1", "localhost")
            root = quick_serve.LocalCA(quick_serve.state_folder() / "ca").root_cert
            print(f"   try: curl --cacert {root} {url}/", flush=True)

    return announce


def _quick_config(args: argparse.Namespace):
    """A config for `serve DIR`, written to the state folder so the reader can read it."""
    directory = args.directory.resolve()
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a folder", Position(str(directory), 0, 0))
    state = quick_serve.state_folder()
    ca, created = quick_serve.ensure_local_ca(state / "ca")
    ports = {}
    for name, default in (("http", 8080), ("https", 8443), ("toytls", 8444)):
        given = getattr(args, f"{name}_port")
        ports[name] = (
            given if given is not None else (default if quick_serve.port_is_free(default) else 0)
        )
    text = quick_serve.quick_config_text(
        directory,
        ca,
        http_port=ports["http"],
        tls13_port=ports["https"],
        toytls_port=ports["toytls"],
    )
    config_path = state / "serve.conf"
    config_path.write_text(text)
    print(f"serving {directory}", flush=True)
    print(f"config: {config_path}", flush=True)
    print(f"local CA: {ca.root_cert}" + (" (new: trust it once)" if created else ""), flush=True)
    for line in quick_serve.trust_instructions(ca.root_cert):
        print(line, flush=True)
    return parse_config(text, config_path)


def _get(args: argparse.Namespace) -> int:
    tickets = TicketStore() if args.resume else None
    new_tls = None
    if any(url.startswith("https://") for url in args.urls):
        try:
            if args.toytls:
                new_tls = toytls_client_factory(args.cafile)
            elif args.http2:
                new_tls = tls13_client_factory(
                    args.cafile, tickets=tickets, application_protocols=("h2", "http/1.1")
                )
            else:
                new_tls = tls13_client_factory(args.cafile, tickets=tickets)
        except pki.PkiError as error:
            print(f"tls-web-server: {error}", file=sys.stderr)
            return 2
    if args.http2 and new_tls is not None and not args.toytls:
        return _get_http2(args, new_tls)
    status = 0
    out = sys.stdout.buffer
    for number, url in enumerate(args.urls, start=1):
        trace = Trace("client") if (args.trace or args.trace_html) and new_tls else None
        try:
            result = fetch(url, new_tls=new_tls, observer=trace)
        except ClientError as error:
            _show_trace(args, trace, url, number)
            print(f"tls-web-server: {error}", file=sys.stderr)
            return 1
        if trace is not None:
            response = result.response
            trace.add_note(f"{url} -> {response.status} {response.reason}")
        _show_trace(args, trace, url, number)
        if args.verbose and result.negotiated is not None:
            print(result.negotiated.summary(), file=sys.stderr, flush=True)
        response = result.response
        if args.include:
            out.write(response.head_text().encode("latin-1"))
        out.write(response.body)
        out.flush()
        if not 200 <= response.status < 400:
            status = 1
    return status


def _get_http2(args: argparse.Namespace, new_tls: TLSClientFactory) -> int:
    """`get --http2`: one connection per origin, its URLs as concurrent streams (in order)."""
    origins: dict[str, list[str]] = {}
    for url in args.urls:
        parts = urlsplit(url)
        origins.setdefault(f"{parts.scheme}://{parts.netloc}", []).append(url)
    status = 0
    out = sys.stdout.buffer
    for number, (origin, urls) in enumerate(origins.items(), start=1):
        trace = Trace("client") if args.trace or args.trace_html else None
        try:
            if origin.startswith("https://"):
                results = fetch_http2(urls, new_tls=new_tls, observer=trace)
            else:  # HTTP/2 needs TLS here (no h2c): plain URLs stay HTTP/1.1
                results = [fetch(url) for url in urls]
        except ClientError as error:
            _show_trace(args, trace, origin, number)
            print(f"tls-web-server: {error}", file=sys.stderr)
            return 1
        _show_trace(args, trace, origin, number)
        if args.verbose and results and results[0].negotiated is not None:
            print(results[0].negotiated.summary(), file=sys.stderr, flush=True)
        for result in results:
            response = result.response
            if args.include:
                out.write(response.head_text().encode("latin-1"))
            out.write(response.body)
            if not 200 <= response.status < 400:
                status = 1
        out.flush()
    return status


def _show_trace(args: argparse.Namespace, trace: Trace | None, url: str, number: int) -> None:
    """Print the diagram (--trace) and write the page (--trace-html) of one connection."""
    if trace is None or not trace.events:
        return
    if args.trace:
        # HTTP/2 frames are decoded inside the records (http2/annotate.py), HTTP/1.1 summarised.
        describe = Http2Annotator().describe
        print(
            render_text(trace, color=use_color(sys.stdout), describe_application_data=describe),
            flush=True,
        )
    if args.trace_html:
        path = args.trace_html
        if number > 1:  # one page per URL: page.html, page-2.html, ...
            path = path.with_name(f"{path.stem}-{number}{path.suffix}")
        page = render_html(
            trace,
            title=f"TLS connection to {url}",
            describe_application_data=Http2Annotator().describe,
        )
        path.write_text(page, encoding="utf-8")
        print(f"trace written to {path}", file=sys.stderr, flush=True)


def _certs(args: argparse.Namespace) -> int:
    names = args.names or ["localhost"]
    generated = pki.generate_pki(args.outdir, names, key_type=args.key_type)
    for label, path in (
        ("root CA certificate (trust this one)", generated.root_cert),
        ("intermediate CA certificate", generated.intermediate_cert),
        ("server certificate", generated.server_cert),
        ("server private key (mode 0600)", generated.server_key),
    ):
        print(f"{label}: {path}")
    return 0
