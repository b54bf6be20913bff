"""An X.509 certificate's fields, read from its DER bytes for a learner (RFC 5280 section 4.1).

    fields = read_certificate_fields(der)   # None when the bytes are not a certificate
    fields.subject, fields.issuer, fields.not_before, fields.extensions, ...

What this module owns: a small DER reader (ITU-T X.690: tag, length, value)
and the walk over `Certificate ::= SEQUENCE { tbsCertificate,
signatureAlgorithm, signatureValue }` that names each field: version,
serial, signature algorithm, issuer, validity, subject, public key, and
each extension with what it means.  It only describes; verifying is
pki.py's (the one place that judges a chain).

What it must never do: import `cryptography` (DEVELOPERS.md rule 3; this is
pure bytes), raise for bytes that are not a certificate (it returns None),
or read past a length it was given: every length is checked against what
remains, and the walk has a fixed depth (no recursion a certificate could drive).
"""

from __future__ import annotations

from dataclasses import dataclass

# Object identifiers a web certificate uses, by their dotted form.
OID_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "1.2.840.10045.2.1": "id-ecPublicKey",
    "1.2.840.10045.3.1.7": "P-256 (prime256v1)",
    "1.3.132.0.34": "P-384 (secp384r1)",
    "1.3.132.0.35": "P-521 (secp521r1)",
    "1.2.840.113549.1.1.1": "rsaEncryption",
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
}

# Extensions (RFC 5280 section 4.2) and what each tells the verifier.
EXTENSION_MEANINGS = {
    "2.5.29.14": ("subjectKeyIdentifier", "an identifier of this certificate's public key"),
    "2.5.29.15": ("keyUsage", "what the key may do (sign, sign certificates, ...)"),
    "2.5.29.17": ("subjectAltName", "the names the certificate is for: the client matches SNI"),
    "2.5.29.19": ("basicConstraints", "whether this certificate may issue others (a CA)"),
    "2.5.29.31": ("cRLDistributionPoints", "where revocation lists are published"),
    "2.5.29.32": ("certificatePolicies", "the policies the issuer followed"),
    "2.5.29.35": ("authorityKeyIdentifier", "names the issuer's key: helps build the chain"),
    "2.5.29.37": ("extKeyUsage", "the purposes: serverAuth for a web server"),
    "1.3.6.1.5.5.7.1.1": ("authorityInfoAccess", "where to find the issuer and OCSP"),
    "1.3.6.1.4.1.11129.2.4.2": ("signedCertificateTimestampList", "Certificate Transparency"),
}
KEY_USAGE_BITS = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
)
EXTENDED_KEY_USAGES = {"1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth"}


class _NotDer(Exception):
    pass


@dataclass(frozen=True)
class _Element:
    tag: int
    value: bytes


def _elements(data: bytes) -> list[_Element]:
    """The TLV elements of `data`, in order (X.690 section 8.1; definite lengths only)."""
    elements = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise _NotDer
        tag = data[offset]
        length = data[offset + 1]
        offset += 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or offset + count > len(data):
                raise _NotDer
            length = int.from_bytes(data[offset : offset + count], "big")
            offset += count
        if offset + length > len(data):
            raise _NotDer
        elements.append(_Element(tag, data[offset : offset + length]))
        offset += length
    return elements


def _oid(value: bytes) -> str:
    if not value:
        raise _NotDer
    parts = [value[0] // 40, value[0] % 40]
    number = 0
    for byte in value[1:]:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    return ".".join(str(part) for part in parts)


def _oid_name(oid: str) -> str:
    return OID_NAMES.get(oid, oid)


def _name(value: bytes) -> str:
    """A Name (RFC 5280 section 4.1.2.4) as "CN=..., O=...", in the order written."""
    parts = []
    for relative_name in _elements(value):
        for attribute in _elements(relative_name.value):
            oid, text = _elements(attribute.value)[:2]
            parts.append(f"{_oid_name(_oid(oid.value))}={text.value.decode('utf-8', 'replace')}")
    return ", ".join(parts)


def _time(element: _Element) -> str:
    """UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as an ISO date (UTC)."""
    text = element.value.decode("ascii", "replace")
    if element.tag == 0x17 and len(text) >= 12:
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    if len(text) < 14:
        return text
    return f"{text[:4]}-{text[4:6]}-{text[6:8]} {text[8:10]}:{text[10:12]}:{text[12:14]} UTC"


def _algorithm(value: bytes) -> str:
    parts = _elements(value)
    name = _oid_name(_oid(parts[0].value))
    if len(parts) > 1 and parts[1].tag == 0x06:  # EC parameters: the named curve
        name += f" {_oid_name(_oid(parts[1].value))}"
    return name


@dataclass(frozen=True)
class Extension:
    oid: str  # dotted, e.g. 2.5.29.17
    name: str
    critical: bool
    meaning: str
    value: str


@dataclass(frozen=True)
class CertificateFields:
    version: int
    serial: str
    signature_algorithm: str
    issuer: str
    not_before: str
    not_after: str
    subject: str
    public_key: str
    extensions: tuple[Extension, ...]
    is_ca: bool
    dns_names: tuple[str, ...]


def _extension_value(oid: str, value: bytes) -> tuple[str, bool | None, tuple[str, ...]]:
    """(value in words, CA or not for basicConstraints, DNS names for subjectAltName)."""
    inner = _elements(value)
    if oid == "2.5.29.19":
        fields = _elements(inner[0].value) if inner else []
        is_ca = bool(fields and fields[0].tag == 0x01 and fields[0].value != b"\x00")
        return ("CA" if is_ca else "not a CA"), is_ca, ()
    if oid == "2.5.29.17":
        names = []
        for general_name in _elements(inner[0].value):
            if general_name.tag == 0x82:
                names.append(general_name.value.decode("ascii", "replace"))
            elif general_name.tag == 0x87:
                names.append("IP " + ".".join(str(byte) for byte in general_name.value))
        return ", ".join(names), None, tuple(n for n in names if not n.startswith("IP "))
    if oid == "2.5.29.15" and inner and inner[0].tag == 0x03 and len(inner[0].value) > 1:
        bits = int.from_bytes(inner[0].value[1:], "big")
        width = 8 * (len(inner[0].value) - 1)
        used = [name for i, name in enumerate(KEY_USAGE_BITS) if bits >> (width - 1 - i) & 1]
        return ", ".join(used), None, ()
    if oid == "2.5.29.37" and inner:
        purposes = [_oid(element.value) for element in _elements(inner[0].value)]
        return ", ".join(EXTENDED_KEY_USAGES.get(p, p) for p in purposes), None, ()
    return f"{len(value)} bytes", None, ()


def _public_key(algorithm: str, key: bytes) -> str:
    """The key's algorithm and size in the words a learner meets elsewhere."""
    if algorithm == "rsaEncryption":  # RSAPublicKey ::= SEQUENCE { modulus, publicExponent }
        modulus = _elements(_elements(key)[0].value)[0].value.lstrip(b"\x00")
        return f"RSA, {len(modulus) * 8}-bit modulus"
    if algorithm.startswith("id-ecPublicKey"):
        return f"{algorithm.removeprefix('id-ecPublicKey ')} point, {len(key)} bytes (04 || x || y)"
    return f"{algorithm}, {len(key)}-byte public key"


def read_certificate_fields(der: bytes) -> CertificateFields | None:
    """The fields of one DER certificate, or None if it does not read as one."""
    try:
        return _read(der)
    except (_NotDer, IndexError, ValueError):
        return None


def _read(der: bytes) -> CertificateFields:
    (certificate,) = _elements(der)
    tbs, signature_algorithm, _ = _elements(certificate.value)
    fields = _elements(tbs.value)
    version = 1
    if fields[0].tag == 0xA0:
        version = int.from_bytes(_elements(fields[0].value)[0].value, "big") + 1
        fields = fields[1:]
    serial, _, issuer, validity, subject, public_key_info = fields[:6]
    not_before, not_after = _elements(validity.value)
    key_algorithm, key_bits = _elements(public_key_info.value)
    public_key = _public_key(_algorithm(key_algorithm.value), key_bits.value[1:])
    extensions = []
    is_ca = False
    dns_names: tuple[str, ...] = ()
    for element in fields[6:]:
        if element.tag != 0xA3:
            continue
        for extension in _elements(_elements(element.value)[0].value):
            parts = _elements(extension.value)
            oid = _oid(parts[0].value)
            critical = len(parts) == 3 and parts[1].value != b"\x00"
            name, meaning = EXTENSION_MEANINGS.get(
                oid, (oid, "an extension this page does not know")
            )
            value, ca, names = _extension_value(oid, parts[-1].value)
            is_ca = is_ca or bool(ca)
            dns_names = dns_names or names
            extensions.append(Extension(oid, name, critical, meaning, value))
    return CertificateFields(
        version=version,
        serial=serial.value.hex(":"),
        signature_algorithm=_algorithm(signature_algorithm.value),
        issuer=_name(issuer.value),
        not_before=_time(not_before),
        not_after=_time(not_after),
        subject=_name(subject.value),
        public_key=public_key,
        extensions=tuple(extensions),
        is_ca=is_ca,
        dns_names=dns_names,
    )
