"""Serving a service's API: ``python -m services.platform.serve services.orders.main:app --port P``.

uvicorn, with its listening socket opened with ``SO_REUSEPORT``: several independent processes
can listen on the same port, and the kernel spreads the connections between them. That is how
one API uses more than one core: each copy is a process of its own under the supervisor, so one
that dies is restarted while the others keep serving (uvicorn's ``--workers`` would make one
parent own them all, and a killed parent would leave its children orphaned on the port).

uvloop and httptools are used (they are dependencies), as ``--loop auto --http auto`` would.
An idle connection is kept ``KEEP_ALIVE_SECONDS``, longer than clients keep theirs (httpx: 5 s,
uvicorn's own default too): when both sides wait the same time, a client may send a request on
a connection the server is closing at that very moment, and the request fails.

``--nice N`` serves at a lower CPU priority (the Procfile passes ``API_NICE``, 0 by default). On
one machine the whole stack shares, past saturation the relays and workers then finish the
orders already taken before new ones come in, and the excess is shed at the door (503 with
Retry-After). Below saturation it only makes each command wait behind the workers' batches:
measured at 100 orders/s on two cores, command p99 27 ms at nice 10 against 21 ms at nice 0,
the consumers' lag the same; at 180 orders/s, nice 10 shed 124-869 of 5,400 orders with
command p50 310-510 ms and lag p99 120-140 ms, nice 0 shed 6-27 with command p50 33-43 ms and
lag p99 210-280 ms (docs/decisions/0017). Where each process has its own CPU quota
(Kubernetes) it is not needed.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Sequence

import uvicorn

__all__ = ["KEEP_ALIVE_SECONDS", "listening_socket", "main"]

KEEP_ALIVE_SECONDS = 30


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` that other processes may listen on too."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the app factory named on the command line until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.serve")
    parser.add_argument("app", help="the app factory, e.g. services.orders.main:app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--nice", type=int, default=0, choices=range(20), metavar="0..19",
                        help="lower the CPU priority by this much (os.nice)")
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    config = uvicorn.Config(args.app, factory=True, host=args.host, port=args.port,
                            loop="uvloop", http="httptools", log_level=args.log_level,
                            timeout_keep_alive=KEEP_ALIVE_SECONDS)
    uvicorn.Server(config).run(sockets=[listening_socket(args.host, args.port)])


if __name__ == "__main__":
    main()
