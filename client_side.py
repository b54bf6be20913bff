"""Terminal 2 of the walkthrough: a plain request, then one through the learning protocol.

Run python3 server_side.py first.
"""

from pathlib import Path

from tls_web_server.demo import (
    DEFAULT_HTTP_PORT,
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
        toytls=True,
        cafile=root_certificate,
    )
    raise SystemExit(0 if succeeded(plain) and succeeded(toy) else 1)
