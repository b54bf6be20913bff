"""Terminal 2 of the walkthrough: plain HTTP, the learning protocol, then our TLS 1.3, drawn.

Run python3 server_side.py first.
"""

from pathlib import Path

from tls_web_server.client.fetch import tls13_client_factory, toytls_client_factory
from tls_web_server.demo import (
    DEFAULT_HTTP_PORT,
    DEFAULT_TLS13_PORT,
    DEFAULT_TOYTLS_PORT,
    narrated_fetch,
    succeeded,
)

if __name__ == "__main__":
    root_certificate = Path(__file__).parent / "demo-site" / "certs" / "root_cert.pem"
    plain = narrated_fetch("Plain HTTP", f"http://localhost:{DEFAULT_HTTP_PORT}/")
    toy = narrated_fetch(
        "HTTP over the learning protocol (toytls)",
        f"https://localhost:{DEFAULT_TOYTLS_PORT}/",
        new_tls=toytls_client_factory(root_certificate),
    )
    tls13 = narrated_fetch(
        "HTTP over our TLS 1.3, every message drawn",
        f"https://localhost:{DEFAULT_TLS13_PORT}/",
        new_tls=tls13_client_factory(root_certificate),
        trace_text=True,
    )
    raise SystemExit(0 if succeeded(plain) and succeeded(toy) and succeeded(tls13) else 1)
