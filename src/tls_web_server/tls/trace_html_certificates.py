"""The certificate chain section of a trace page: each certificate's fields, and the checks on it.

    toc, section = certificates_html(trace.events)   # ("", "") when no chain was sent

What this module owns: finding the chain in a trace (the TLS 1.3 Certificate
message, or toytls's ServerAuth), laying out each certificate's fields
(tls/certificate_fields.py reads them), and the verification steps a client
makes (RFC 5280 section 6, RFC 8446 section 4.4.2.4), each with its result:
the ones this page can check from the fields (each issuer names the next
certificate's subject, CA flags, the leaf's purpose and names, the dates at
the time of the page's connection when it is known), and what the client
itself reported (its "verified" events: chain to a trusted root, signature).

What it must never do: claim a check passed that it did not make (a check it
cannot make from the page is said to be the client's), or put certificate
text into the page unescaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .certificate_fields import CertificateFields, read_certificate_fields
from .errors import TLSError
from .tls13 import extensions as ext
from .tls13.certificate_compression import SUPPORTED_ALGORITHMS, decompressed_certificate
from .tls13.enums import ExtensionType
from .tls13.messages import Certificate, CompressedCertificate, decode_handshake_message

# The largest Certificate message the page decompresses: our client's own limit.
LARGEST_DECOMPRESSED_CERTIFICATE = 1 << 18

RFC_CERTIFICATE = "https://www.rfc-editor.org/rfc/rfc8446#section-4.4.2"
RFC_X509 = "https://www.rfc-editor.org/rfc/rfc5280#section-4.1"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _chain(events: Sequence[Mapping[str, Any]]) -> list[bytes]:
    for event in events:
        if event.get("kind") != "message":
            continue
        fields = event.get("fields")
        if event.get("name") == "ServerAuth" and isinstance(fields, Mapping):
            return [bytes(der) for der in fields.get("certificates", ())]
        raw = event.get("raw")
        name = event.get("name")
        if name in ("Certificate", "CompressedCertificate") and isinstance(raw, (bytes, bytearray)):
            try:
                message = decode_handshake_message(raw[0], bytes(raw[4:]))
                if isinstance(message, CompressedCertificate):
                    # RFC 8879: the chain is the Certificate inside, within the same
                    # limits our client keeps (never more than the announced length).
                    message = decompressed_certificate(
                        message, SUPPORTED_ALGORITHMS, LARGEST_DECOMPRESSED_CERTIFICATE
                    )
            except TLSError:
                return []
            if isinstance(message, Certificate):
                return [entry.cert_data for entry in message.entries]
    return []


def _server_name(events: Sequence[Mapping[str, Any]]) -> str | None:
    for event in events:
        if event.get("kind") != "message" or event.get("name") != "ClientHello":
            continue
        fields = event.get("fields")
        if isinstance(fields, Mapping):  # toytls: the name is a field of its own
            name = fields.get("server_name")
            return str(name) if name else None
        extension = getattr(fields, "extension", None)
        data = extension(ExtensionType.server_name) if callable(extension) else None
        if data is not None:
            try:
                return ext.decode_server_name(data)
            except TLSError:
                return None
    return None


def _check(result: bool | None, text: str) -> str:
    mark = {True: "✔", False: "✘", None: "•"}[result]
    kind = {True: "passed", False: "failed", None: "client"}[result]
    return f'<li class="check {kind}">{mark} {_e(text)}</li>'


def _name_matches(pattern: str, name: str) -> bool:
    """RFC 6125 section 6.4.3: a wildcard stands for exactly the leftmost label."""
    pattern, name = pattern.lower(), name.lower()
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def _checks(
    chain: list[CertificateFields | None],
    server_name: str | None,
    events: Sequence[Mapping[str, Any]],
) -> str:
    items = []
    for index in range(len(chain) - 1):
        this, issuer = chain[index], chain[index + 1]
        if this is None or issuer is None:
            continue
        items.append(
            _check(
                this.issuer == issuer.subject,
                f"certificate {index + 1}'s issuer is certificate {index + 2}'s subject "
                f"({this.issuer})",
            )
        )
        items.append(_check(issuer.is_ca, f"certificate {index + 2} is a CA (basicConstraints)"))
    leaf = chain[0] if chain else None
    if leaf is not None:
        items.append(_check(not leaf.is_ca, "the server's certificate is not a CA"))
        purposes = next((e.value for e in leaf.extensions if e.name == "extKeyUsage"), None)
        if purposes is not None:
            items.append(
                _check("serverAuth" in purposes, f"its extKeyUsage allows serverAuth ({purposes})")
            )
        if server_name is not None:
            matches = any(_name_matches(pattern, server_name) for pattern in leaf.dns_names)
            items.append(
                _check(
                    matches,
                    f"the name asked for (SNI {server_name}) is among its names "
                    f"({', '.join(leaf.dns_names) or 'none'})",
                )
            )
        items.append(
            _check(
                None,
                f"now lies between notBefore {leaf.not_before} and notAfter {leaf.not_after} "
                "(checked by the client for every certificate)",
            )
        )
    verified = [event for event in events if event.get("kind") == "verified"]
    for event in verified:
        items.append(
            _check(True, f"the client verified {event.get('name')}: {event.get('detail', '')}")
        )
    if not verified:
        items.append(
            _check(
                None,
                "each signature verifies with the issuer's public key, and the last certificate "
                "is issued by a root the client trusts: the client's checks, not on this side",
            )
        )
    return f'<ul class="checks">{"".join(items)}</ul>'


def _certificate_html(number: int, fields: CertificateFields | None, der: bytes) -> str:
    if fields is None:
        return (
            f'<div class="certificate" id="certificate-{number}"><h3>Certificate {number}</h3>'
            f"<p>{len(der)} bytes that do not read as an X.509 certificate.</p></div>"
        )
    rows = [
        ("version", f"v{fields.version}"),
        ("serial number", fields.serial),
        ("signature algorithm", fields.signature_algorithm),
        ("issuer", fields.issuer),
        ("validity", f"{fields.not_before} to {fields.not_after}"),
        ("subject", fields.subject),
        ("public key", fields.public_key),
    ]
    cells = "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in rows)
    extensions = "".join(
        f"<tr><th>{_e(extension.name)}{' (critical)' if extension.critical else ''}</th>"
        f'<td>{_e(extension.value)} <span class="explain">{_e(extension.meaning)}</span></td></tr>'
        for extension in fields.extensions
    )
    role = "the server's own (leaf)" if number == 1 else "an issuer (CA)"
    return (
        f'<details class="certificate" id="certificate-{number}" open><summary>'
        f'Certificate {number}: {_e(fields.subject)} <span class="meta">{role}, '
        f"{len(der)} bytes</span></summary><table>{cells}{extensions}</table></details>"
    )


def certificates_html(events: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(table of contents entry, the section) for the certificate chain the trace holds."""
    ders = _chain(events)
    if not ders:
        return "", ""
    chain = [read_certificate_fields(der) for der in ders]
    body = "".join(
        _certificate_html(number, fields, der)
        for number, (fields, der) in enumerate(zip(chain, ders, strict=True), start=1)
    )
    section = (
        '<section id="certificates"><h2>The certificate chain, decoded '
        f'(<a href="{RFC_CERTIFICATE}">RFC 8446 section 4.4.2</a>, '
        f'<a href="{RFC_X509}">RFC 5280 section 4.1</a>)</h2>'
        "<p>The server sends its certificate first, then the certificates that issued it; "
        "the client follows the chain to a root it already trusts.</p>"
        f"{body}<h3>Verification steps</h3>{_checks(chain, _server_name(events), events)}"
        "</section>"
    )
    return '<li><a href="#certificates">The certificate chain, decoded</a></li>', section
