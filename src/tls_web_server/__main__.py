"""`python -m tls_web_server` is the same as the `tls-web-server` command."""

from tls_web_server.cli import main

raise SystemExit(main())
