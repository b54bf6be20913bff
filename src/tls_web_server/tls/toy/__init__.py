"""toytls: the small learning protocol of the walkthrough, byte for byte.

Read in this order: wire.py (records and the three handshake messages),
record.py (key derivation and encrypted records), connection.py (what both
roles share, and the state diagram), server.py and client.py (the states).
docs/toytls.md shows every byte, and lists what toytls leaves out compared
with TLS 1.3 and the attack each omission allows.

This package never imports tls/tls13 nor the `cryptography` package: its
primitives come from tls/crypto.py and its certificates from tls/pki.py.
"""

from .client import ToyTLSClientConnection
from .server import ToyTLSServerConnection

__all__ = ["ToyTLSClientConnection", "ToyTLSServerConnection"]
