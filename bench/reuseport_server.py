"""Our server's workers each on a socket of their own (SO_REUSEPORT): the road not taken.

server/processes.py gives every worker the same listening socket (the master
binds it, the workers inherit it with fork) and lets them race for each new
connection.  The other common design, nginx's `listen ... reuseport`, gives
each worker its own socket bound to the same port with SO_REUSEPORT, and the
kernel hashes each new connection to one of them.  bench/scaling.py runs
both under the same handshake load to see which spreads the work better
(docs/benchmarks.md has the answer); this file is the second design, just
enough of it for that measurement:

    python bench/reuseport_server.py -c CONF --workers 2

It opens, per listener, one SO_REUSEPORT socket per worker on one port,
prints the usual "listening on ..." lines, forks the workers (each keeps
its own socket, closes the others, and runs `Server.run_worker`'s loop on
it) and stops them all on SIGTERM.  No restart, no reload, no shared ticket
key: none of that matters to a handshake-rate measurement.

This module only serves what its config says and never touches other processes.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tls_web_server.config import load_config
from tls_web_server.server.server import LISTEN_BACKLOG, BoundListener, Server, listen_key


def reuseport_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((address, port))
    sock.listen(LISTEN_BACKLOG)
    return sock


def serve(config_path: Path, workers: int) -> int:
    config = load_config(config_path)
    template = Server(config)  # only for its listener specs
    sockets: list[dict[tuple, socket.socket]] = [{} for _ in range(workers)]
    for index, spec in enumerate(template.specs):
        port = spec.port
        for own in sockets:
            sock = reuseport_socket(spec.address, port)
            port = sock.getsockname()[1]  # port 0: the first socket picks, the others follow
            own[listen_key(spec, index)] = sock
        print(BoundListener(spec, spec.address, port, sock).describe(), flush=True)

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    children = []
    for worker in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
            for other, own in enumerate(sockets):
                if other != worker:
                    for sock in own.values():
                        sock.close()
            server = Server(config)
            server.bind(reuse=sockets[worker])
            server.run()
            os._exit(0)
        children.append(pid)
    for own in sockets:
        for sock in own.values():
            sock.close()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for pid in children:
        os.waitpid(pid, 0)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="our server, one SO_REUSEPORT socket per worker")
    parser.add_argument("-c", "--config", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    return serve(args.config, args.workers)


if __name__ == "__main__":
    sys.exit(main())
