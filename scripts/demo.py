"""One-command demo: start the server in the background, make both requests, stop it.

Exits 0 only if the plain request and the learning-protocol request both got
`HTTP/1.1 200 OK`.
"""

import sys
from pathlib import Path

from tls_web_server.demo import run_demo

if __name__ == "__main__":
    sys.exit(run_demo(Path(__file__).resolve().parent.parent / "demo-site"))
