"""What each field of a TLS 1.3 handshake message is for, in one sentence for a learner.

What this module owns: the words the trace page (annotate.py) puts beside
each field the codec reads, in a message or an extension payload, keyed by
the name the codec gives its read (`reader.uint16(name="algorithm")`, or
`spans.number(2, "group", group)` in a decoder that reads by index), and,
where one name means different things in different messages, by message.

What it must never do: describe a layout (the codec does, watched by
span_reader.py) or import anything: it is words only.
"""

from __future__ import annotations

_RANDOM = {
    "client_hello": "32 fresh random bytes from the client; they make every transcript unique.",
    "server_hello": "32 fresh random bytes from the server.",
    "hello_retry_request": (
        "SHA-256 of 'HelloRetryRequest': marks this ServerHello as a retry request."
    ),
}
_REQUEST_CONTEXT = {
    "certificate": (
        "Empty in a server's Certificate; a client echoes the CertificateRequest's here."
    ),
    "certificate_request": "An identifier the client's answer must echo.",
}

# Field name (as the codec names its reads) -> its sentence, or (message -> sentence).
FIELD_EXPLANATIONS: dict[str, str | dict[str, str]] = {
    "legacy_version": (
        "Frozen at 0x0303 (TLS 1.2) for compatibility; the real version is in supported_versions."
    ),
    "random": _RANDOM,
    "legacy_session_id": (
        "Unused by TLS 1.3; a non-empty one makes the handshake look like TLS 1.2 resumption "
        "to middleboxes (appendix D.4)."
    ),
    "legacy_session_id_echo": "The client's legacy_session_id, echoed back.",
    "cipher_suites": "The cipher suites the client can use, in its order of preference.",
    "legacy_compression_methods": "Must be the single byte 0 (no compression) in TLS 1.3.",
    "cipher_suite": "The one cipher suite the server chose from the client's list.",
    "legacy_compression_method": "Always 0.",
    "extensions": "Each extension: a type, a length and its data.",
    "certificate_request_context": _REQUEST_CONTEXT,
    "certificate_list": "The chain, leaf first; the root may be left out.",
    "cert_data": (
        "An X.509 certificate in DER: a name, a public key, validity dates and the issuer's "
        "signature over them."
    ),
    "algorithm": {
        "certificate_verify": "The signature scheme (section 4.2.3), one the client offered.",
        "compressed_certificate": (
            "How the Certificate was compressed: one the client offered (RFC 8879 section 4)."
        ),
    },
    "uncompressed_length": (
        "The Certificate's length once decompressed; the receiver refuses to produce more."
    ),
    "compressed_certificate_message": (
        "The whole Certificate message (header included), compressed; decompressed below."
    ),
    "algorithms": "The compression algorithms it can decompress, preferred first (RFC 8879).",
    "compression_algorithm": "One certificate compression algorithm.",
    "signature": "Signed: 64 spaces, a context string and the transcript hash (section 4.4.3).",
    "verify_data": "HMAC of the transcript hash, keyed from this side's handshake traffic secret.",
    "ticket_lifetime": "Seconds the ticket may be used.",
    "ticket_age_add": (
        "A random number added to the ticket's age, so that resumptions cannot be linked."
    ),
    "ticket_nonce": "Makes each ticket's resumption PSK different.",
    "ticket": "Opaque to the client: the server's sealed memory of this session.",
    "request_update": "Whether the peer should update its own sending keys as well.",
    # extension payloads: the ClientHello's, decoded by index (extensions.py
    # `decode_X(data, spans)`, which names each field it reports to the recorder) ...
    "server_name_list": "The names asked for (in practice one host_name).",
    "ServerName": "One name the client asks for.",
    "name_type": "0 means host_name, the only type ever used.",
    "host_name": "The DNS name of the server, ASCII.",
    "client_shares": "The client's public keys.",
    "KeyShareEntry": "One public key for one group.",
    "versions": "The versions offered, preferred first.",
    "named_group_list": "The groups supported, preferred first.",
    "supported_signature_algorithms": "The schemes accepted.",
    "ke_modes": "The modes the client accepts.",
    "protocol_name_list": "Protocol names such as http/1.1 or h2.",
    "ProtocolName": "One protocol name.",
    # ... and those read through a Reader (`read_X(reader)`); the key share in both forms
    "selected_version": "The version chosen.",
    "group": "The group of this public key.",
    "key_exchange": (
        "The ephemeral public key; combined with the peer's private key it gives the shared secret."
    ),
    "selected_group": "The group to send a key share for.",
    "identities": "The tickets offered.",
    "identity": "The ticket, as the server issued it.",
    "obfuscated_ticket_age": "The ticket's age plus ticket_age_add.",
    "binders": "One binder per ticket, in the same order.",
    "PskBinderEntry": "An HMAC over the hello so far, keyed from the PSK.",
    "selected_identity": "The index of the accepted ticket.",
    "cookie": "The value to echo.",
    "max_early_data_size": "Bytes of 0-RTT data allowed.",
    "record_size_limit": "The largest record the sender will take, in bytes.",
}


def explain_field(name: str, kind: str) -> str:
    """The sentence for field `name` in message `kind` (as describe() names it); "" if none."""
    found = FIELD_EXPLANATIONS.get(name, "")
    if isinstance(found, dict):
        return found.get(kind, "")
    return found
