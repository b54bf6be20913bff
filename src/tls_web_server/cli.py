"""The `tls-web-server` command: serve, get, certs, ticket-key.

    tls-web-server serve -c site.conf
    tls-web-server serve ./public          # http, https (TLS 1.3) and toytls with a local CA
    tls-web-server get https://localhost:8443/ --cafile certs/root_cert.pem -i -v
    tls-web-server get https://localhost:8444/ --toytls --cafile certs/root_cert.pem
    tls-web-server get --http2 https://localhost:8443/ https://localhost:8443/a.css -v
    tls-web-server certs certs/ --name localhost --key-type ecdsa-p256
    tls-web-server certs certs/ --client alice   # a client certificate (mutual TLS)
    tls-web-server get https://localhost:8443/ --cafile certs/root_cert.pem \
        --cert certs/client_alice_cert.pem --key certs/client_alice_key.pem
    tls-web-server demo                    # the one-command demo (what `make demo` runs)
    tls-web-server ticket-key keys/ticket.key   # for ssl_session_ticket_key (80 bytes, 0600)

Exit status: 0 on success; 1 when a request or the server failed; 2 for a
usage or configuration error (printed in one line naming file:line:col).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tls_web_server import __version__, demo, quick_serve
from tls_web_server.client.fetch import (
    ClientError,
    TLSClientFactory,
    fetch,
    tls13_client_factory,
    toytls_client_factory,
)
from tls_web_server.client.http2_fetch import fetch_http2
from tls_web_server.config import (
    Config,
    ConfigError,
    Position,
    load_config,
    parse_config,
    tls_names,
)
from tls_web_server.http2.annotate import Http2Annotator
from tls_web_server.server.processes import run_server
from tls_web_server.server.server import ServerStartError
from tls_web_server.tls import pki
from tls_web_server.tls.errors import AlertDescription
from tls_web_server.tls.keylog import KeyLogFile
from tls_web_server.tls.tls13.client import TicketStore
from tls_web_server.tls.tls13.enums import NamedGroup
from tls_web_server.tls.tls13.tickets import NGINX_KEY_FILE_LENGTH
from tls_web_server.tls.trace import Trace, render_text, use_color
from tls_web_server.tls.trace_compare import render_comparison
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
        "--cert",
        type=Path,
        metavar="FILE",
        help="client certificate (PEM, intermediates after it) for servers that ask (mutual TLS)",
    )
    get.add_argument("--key", type=Path, metavar="FILE", help="the private key of --cert (PEM)")
    get.add_argument(
        "--groups",
        type=_group_list,
        metavar="LIST",
        help="key exchange groups to offer, OpenSSL's names: X25519MLKEM768:X25519:P-256",
    )
    get.add_argument(
        "--resume",
        action="store_true",
        help="resume each TLS 1.3 connection with a ticket from the previous one",
    )
    get.set_defaults(handler=_get)

    compare = commands.add_parser(
        "compare",
        help="fetch one URL over TLS 1.3 and one over toytls; write both side by side",
        description="Fetch URL_TLS13 with our TLS 1.3 client and URL_TOYTLS with the learning"
        " protocol, and write one page (mode 0600) that puts the two connections in columns"
        " by purpose, with what toytls leaves out and the attack each omission allows"
        " (docs/toytls.md). A server with `tls_trace on;` serves the same page at /_tls/compare.",
    )
    compare.add_argument("url_tls13", metavar="URL_TLS13", help="https://... of a TLS 1.3 listener")
    compare.add_argument(
        "url_toytls", metavar="URL_TOYTLS", help="https://... of a toytls listener"
    )
    compare.add_argument(
        "--cafile", type=Path, help="trusted root certificate (PEM); default: the system's"
    )
    compare.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("compare.html"),
        metavar="FILE",
        help="where to write the page (default compare.html)",
    )
    compare.set_defaults(handler=_compare)

    certs = commands.add_parser(
        "certs",
        help="make a root CA, an intermediate and a server cert",
        description="Write a root CA, an intermediate CA and a server certificate (with their"
        " keys, mode 0600) into OUTDIR; trust OUTDIR/root_cert.pem in the client (--cafile).",
    )
    certs.add_argument(
        "outdir",
        type=Path,
        metavar="OUTDIR",
        help="folder to write root_cert.pem, intermediate_cert.pem, server_cert.pem and"
        " their keys into (created if missing)",
    )
    certs.add_argument(
        "--name",
        action="append",
        dest="names",
        metavar="DNS",
        help="a name for the server certificate (repeatable; default localhost)",
    )
    certs.add_argument(
        "--client",
        action="append",
        dest="clients",
        metavar="NAME",
        help="also issue a client certificate for mutual TLS, client_NAME_cert.pem and"
        " client_NAME_key.pem (repeatable); without --name, a CA already in OUTDIR is kept"
        " and issues it",
    )
    certs.add_argument(
        "--key-type",
        choices=pki.KEY_TYPES,
        default="ecdsa-p256",
        help="the key algorithm of all three certificates (default ecdsa-p256); browsers and"
        " our clients refuse ed25519 certificates (OpenSSL and curl accept them)",
    )
    certs.set_defaults(handler=_certs)

    demo_command = commands.add_parser(
        "demo",
        help="the one-command demo: a server, and a page fetched over every protocol",
    )
    demo_command.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=Path("demo-site"),
        help="where to write the site, certificates and traces (default ./demo-site)",
    )
    demo_command.set_defaults(handler=_demo)

    ticket_key = commands.add_parser(
        "ticket-key", help="write a new session ticket key file (nginx's 80-byte format, 0600)"
    )
    ticket_key.add_argument("file", type=Path)
    ticket_key.set_defaults(handler=_ticket_key)
    return parser


def _demo(args: argparse.Namespace) -> int:
    return demo.run_demo(args.folder.resolve())


def _serve(args: argparse.Namespace) -> int:
    if args.config is not None and args.directory is not None:
        print(
            f"tls-web-server: serve was given both -c {args.config} and the folder"
            f" {args.directory}: give one (the folder's config is written for you)",
            file=sys.stderr,
        )
        return 2
    if args.config is None and args.directory is None:
        print("tls-web-server: serve needs either -c CONFIG or a DIRECTORY", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config) if args.config is not None else _quick_config(args)
        for warning in startup_warnings(config, os.environ):
            print(f"tls-web-server: warning: {warning}", file=sys.stderr, flush=True)
        run_server(
            config,
            announce=_announcer(args),
            config_path=args.config,
            trace_output=_print_trace if args.trace else None,
            trust_command=_trust_command(args),
        )
    except (ConfigError, ServerStartError) as error:
        # A port in use is a mistake in the config as much as a bad directive:
        # both are reported as file:line and exit 2 (README, "Using it").
        print(f"tls-web-server: {error}", file=sys.stderr)
        return 2
    except pki.PkiError as error:
        print(f"tls-web-server: {error}", file=sys.stderr)
        return 1
    return 0


def _trust_command(args: argparse.Namespace) -> str | None:
    """For `serve DIR`, the browser trust command it printed (the log repeats it)."""
    if args.directory is None:
        return None
    root = quick_serve.LocalCA(quick_serve.state_folder() / "ca").root_cert
    return quick_serve.browser_trust_command(root)


def startup_warnings(config: Config, environment: dict[str, str] | os._Environ) -> list[str]:
    """What the server should say before it starts: secrets written out, folders missing."""
    warnings = []
    keylog = environment.get("SSLKEYLOGFILE")
    if keylog:
        warnings.append(
            f"SSLKEYLOGFILE is set: the secrets of every TLS 1.3 connection are written to"
            f" {keylog}, so anyone who reads it can decrypt the traffic"
        )
    seen: set[Path] = set()
    for server in config.servers:
        for location in server.locations:
            if location.root not in seen and not location.root.is_dir():
                seen.add(location.root)
                position = location.position
                warnings.append(
                    f"{position.file}:{position.line}: root {location.root} does not exist"
                    " (every request there will get 404)"
                )
    return warnings


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
        if given is not None:
            ports[name] = given
        elif quick_serve.port_is_free(default):
            ports[name] = default
        else:
            ports[name] = quick_serve.free_port()
            print(f"{default} is taken, using {ports[name]}", flush=True)
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


def _group_list(value: str) -> tuple[NamedGroup, ...] | None:
    """`--groups A:B:C` in OpenSSL's spellings (config/tls_names.py); `auto`: the defaults."""
    try:
        names = tls_names.read_group_list(value)
    except tls_names.UnknownGroupName as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return None if names is None else tuple(NamedGroup[name] for name in names)


def _get(args: argparse.Namespace) -> int:
    if args.toytls and args.resume:
        print(
            "tls-web-server: --resume needs TLS 1.3 session tickets; toytls has no"
            " resumption (docs/toytls.md lists what it leaves out): drop one of the two",
            file=sys.stderr,
        )
        return 2
    if (args.cert is None) != (args.key is None) or (args.cert and args.toytls):
        print(
            "tls-web-server: a client certificate takes --cert FILE and --key FILE together,"
            " and TLS 1.3 (toytls has no client certificates)",
            file=sys.stderr,
        )
        return 2
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
                keylog_path = os.environ.get("SSLKEYLOGFILE")  # opt-in, as for the server
                keylog = KeyLogFile(keylog_path) if keylog_path else None
                client_credentials = (
                    pki.load_server_credentials(args.cert, args.key) if args.cert else None
                )
                new_tls = tls13_client_factory(
                    args.cafile,
                    tickets=tickets,
                    keylog=keylog,
                    groups=args.groups,
                    client_credentials=client_credentials,
                )
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
            hint = ""
            if error.alert is AlertDescription.unknown_ca:
                hint = quick_serve.untrusted_root_hint(str(error), args.cafile)
            print(f"tls-web-server: {error}{hint}", file=sys.stderr)
            return 1
        if trace is not None:
            response = result.response
            trace.add_note(f"{url} -> {response.status} {response.reason}")
        _show_trace(args, trace, url, number)
        if args.verbose and result.negotiated is not None:
            print(_negotiated_line(result.negotiated), file=sys.stderr, flush=True)
        response = result.response
        if args.include:
            out.write(response.head_text().encode("latin-1"))
        out.write(response.body)
        out.flush()
        if not 200 <= response.status < 400:
            status = 1
    return status


def _compare(args: argparse.Namespace) -> int:
    """`compare URL_TLS13 URL_TOYTLS`: the same request over both protocols, one page."""
    try:
        clients = (
            tls13_client_factory(args.cafile),
            toytls_client_factory(args.cafile),
        )
    except pki.PkiError as error:
        print(f"tls-web-server: {error}", file=sys.stderr)
        return 2
    traces = []
    for url, new_tls in zip((args.url_tls13, args.url_toytls), clients, strict=True):
        trace = Trace("client")
        try:
            fetch(url, new_tls=new_tls, observer=trace)
        except ClientError as error:
            print(f"tls-web-server: {url}: {error}", file=sys.stderr)
            return 1
        traces.append(trace)
    page = render_comparison(
        traces[0], traces[1], title=f"TLS 1.3 and toytls, side by side: {args.url_tls13}"
    )
    _write_private_page(args.output, page)
    print(f"comparison written to {args.output}", file=sys.stderr, flush=True)
    return 0


def _negotiated_line(negotiated) -> str:
    """`get -v`: what TLS agreed; toytls has no HelloRetryRequest, resumption or ALPN to show."""
    if negotiated.protocol == "toytls":
        return f"{negotiated.protocol} {negotiated.cipher_suite} {negotiated.group}"
    return negotiated.summary()


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
    """Print the diagram (--trace, to stderr) and write the page (--trace-html, mode 0600).

    The diagram goes to stderr so that stdout holds the body alone (`get URL > file`),
    and it is drawn to the terminal's width.
    """
    if trace is None or not trace.events:
        return
    if args.trace:
        width = shutil.get_terminal_size((100, 24)).columns
        # HTTP/2 frames are decoded inside the records (http2/annotate.py), HTTP/1.1 summarised.
        diagram = render_text(
            trace,
            color=use_color(sys.stderr),
            width=width,
            describe_application_data=Http2Annotator().describe,
        )
        print(diagram, file=sys.stderr)
        sys.stderr.flush()
    if args.trace_html:
        path = args.trace_html
        if number > 1:  # one page per URL: page.html, page-2.html, ...
            path = path.with_name(f"{path.stem}-{number}{path.suffix}")
        page = render_html(
            trace,
            title=f"TLS connection to {url}",
            describe_application_data=Http2Annotator().describe,
        )
        _write_private_page(path, page)
        print(f"trace written to {path}", file=sys.stderr, flush=True)


def _write_private_page(path: Path, page: str) -> None:
    """Trace pages show the connection's secrets: only their owner may read them (0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(page)


def _certs(args: argparse.Namespace) -> int:
    names = args.names or ["localhost"]
    issuer_cert = args.outdir / "intermediate_cert.pem"
    issuer_key = args.outdir / "intermediate_key.pem"
    if args.clients and args.names is None and issuer_cert.exists() and issuer_key.exists():
        # Client certificates for a CA that already exists: the server keeps its chain.
        print(f"issuing from the existing CA: {issuer_cert}")
    else:
        generated = pki.generate_pki(args.outdir, names, key_type=args.key_type)
        for label, path in (
            ("root CA certificate (trust this one)", generated.root_cert),
            ("intermediate CA certificate", generated.intermediate_cert),
            ("server certificate", generated.server_cert),
            ("server private key (mode 0600)", generated.server_key),
        ):
            print(f"{label}: {path}")
    for client in args.clients or ():
        cert = args.outdir / f"client_{client}_cert.pem"
        key = args.outdir / f"client_{client}_key.pem"
        try:
            pki.issue_client_certificate(
                issuer_cert, issuer_key, cert, key, client, key_type=args.key_type
            )
        except pki.PkiError as error:
            print(f"tls-web-server: {error}", file=sys.stderr)
            return 2
        print(f"client certificate for {client}: {cert}")
        print(f"client private key (mode 0600): {key}")
    if args.clients:
        root = args.outdir / "root_cert.pem"
        print(f"servers trust them with: ssl_client_certificate {root}; ssl_verify_client on;")
    if args.key_type == "ed25519":
        print(
            "note: browsers and our clients (get) refuse Ed25519 certificates, and our server"
            " refuses them from clients (the Web PKI allows RSA and ECDSA only); OpenSSL and curl"
            " accept an Ed25519 server. --key-type ecdsa-p256 (the default) works with all."
        )
    return 0


def _ticket_key(args: argparse.Namespace) -> int:
    """80 random bytes for `ssl_session_ticket_key`; an existing file is never overwritten."""
    try:
        # O_EXCL: replacing a key in use would end every ticket it sealed, so
        # that is the operator's explicit act (delete, then create).
        descriptor = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        print(f"tls-web-server: cannot create {args.file}: {error.strerror}", file=sys.stderr)
        return 1
    with os.fdopen(descriptor, "wb") as file:
        file.write(os.urandom(NGINX_KEY_FILE_LENGTH))
    print(f"session ticket key (mode 0600): {args.file}")
    return 0
