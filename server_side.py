"""Terminal 1 of the walkthrough: prepare the demo site and run the server.

    python3 server_side.py        # then, in another terminal: python3 client_side.py

Serves demo-site/html on http://localhost:8080 (plain), https://localhost:8443
(TLS 1.3, which browsers speak once they trust demo-site/certs/root_cert.pem)
and https://localhost:8444 (the learning protocol, toytls).  Ctrl-C stops it.
"""

from pathlib import Path

from tls_web_server.cli import main
from tls_web_server.demo import prepare_demo_site

if __name__ == "__main__":
    site = prepare_demo_site(Path(__file__).parent / "demo-site")
    print(f"config: {site.config}")
    raise SystemExit(main(["serve", "-c", str(site.config)]))
