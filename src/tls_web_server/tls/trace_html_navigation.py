"""Where a trace page's reader can go: the RFC section of each message, the page's contents.

What this module owns: the table from a message (or record type) to the
section of RFC 8446 that defines it, the links drawn beside each record, and
the contents entries of the records.  toytls messages point at the learning
protocol's own description (docs/toytls.md in the source tree), which a page
names in words because a served page cannot link into the source.

What it must never do: put a name from the trace into the page unescaped.
"""

from __future__ import annotations

import html

RFC_8446 = "https://www.rfc-editor.org/rfc/rfc8446"
# RFC 8446 sections, by message name or record content type.
RFC_SECTIONS = {
    "ClientHello": "4.1.2",
    "ServerHello": "4.1.3",
    "HelloRetryRequest": "4.1.4",
    "EncryptedExtensions": "4.3.1",
    "CertificateRequest": "4.3.2",
    "Certificate": "4.4.2",
    "CompressedCertificate": "4.4.2",
    "CertificateVerify": "4.4.3",
    "Finished": "4.4.4",
    "EndOfEarlyData": "4.5",
    "NewSessionTicket": "4.6.1",
    "KeyUpdate": "4.6.3",
    "change_cipher_spec": "appendix-D.4",
    "alert": "6",
    "application_data": "5.2",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def section_link(name: str) -> str:
    """A link to the RFC 8446 section defining `name`, or "" when there is none."""
    section = RFC_SECTIONS.get(name)
    if section is None:
        return ""
    anchor = section if section.startswith("appendix") else f"section-{section}"
    shown = "appendix D.4" if section.startswith("appendix") else f"§{section}"
    return f'<a class="rfc" href="{RFC_8446}#{anchor}">RFC 8446 {shown}</a>'


def record_links(protocol: str, names: list[str], content_type: object) -> str:
    """The RFC links of a record's messages (or of its content type), for its summary line."""
    if protocol == "toytls":
        return '<span class="rfc">docs/toytls.md</span>'
    keys = names or [str(content_type)]
    links = [link for link in (section_link(name) for name in dict.fromkeys(keys)) if link]
    return " ".join(links)


def contents_entry(number: int, sender: str, receiver: str, label: str) -> str:
    return f'<li><a href="#record-{number}">#{number} {sender} → {receiver}: {_e(label)}</a></li>'


def protocol_heading(protocol: str) -> str:
    """What the page is about, naming the protocol and where it is specified."""
    if protocol == "toytls":
        return (
            "toytls, the learning protocol (specified in docs/toytls.md of the source, with "
            "what it leaves out of TLS 1.3 and the attack each omission allows)"
        )
    return (
        f'{_e(protocol)} (<a href="{RFC_8446}">RFC 8446</a>; what this implementation '
        "covers is in docs/tls13.md of the source)"
    )
