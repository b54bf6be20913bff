"""One-command demo: start the server in the background, fetch a page four ways, stop it.

Plain HTTP, the learning protocol, our TLS 1.3 client (with the connection
drawn) and curl, all against our server; exits 0 only if every request got
`HTTP/1.1 200 OK`.  The annotated HTML traces land in demo-site/traces/.
"""

import sys
from pathlib import Path

from tls_web_server.demo import run_demo

if __name__ == "__main__":
    sys.exit(run_demo(Path(__file__).resolve().parent.parent / "demo-site"))
