"""The images' own health check: exit 0 when this container's service answers /_/ready with 200.

    HEALTHCHECK CMD ["/usr/bin/python3", "-S", "-c", "import fn.health as h; h.main()"]   (Dockerfile.fn)
    ... "import fn.health as h; h.main(8000)"                                           (Dockerfile.server)

The images are FROM scratch, with no shell or curl, so the check runs the image's own Python.
Docker Swarm (OpenFaaS's faas-swarm provider) routes to a task only once its check has passed,
and with `start-first` updates it stops the old task only then: without a check the new task is
sent requests before it listens. /_/ready is 200 once the model is loaded and verified and 503
from SIGTERM on.

It runs every few seconds in every idle replica, so it imports as little as it can: the C socket
module and no fn.server.settings (whose argparse, dataclasses and re cost more than the rest of the
check); the port is read from the same variables, `port` then `PORT`, that fn/server/settings.py reads
(tests/test_health.py holds the two equal).
"""

from __future__ import annotations

import _socket
import os
import sys

PORT_VARIABLES = ("port", "PORT")


def ready(port: int, timeout: float = 2.0) -> bool:
    """True when 127.0.0.1:port answers GET /_/ready with 200."""
    conn = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout)
        conn.connect(("127.0.0.1", port))
        conn.sendall(b"GET /_/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        status_line = conn.recv(64).split(b"\r\n", 1)[0].split()
    except OSError:
        return False
    finally:
        conn.close()
    return len(status_line) >= 2 and status_line[1] == b"200"


def main(default_port: int = 8080) -> None:
    """Exit 0 if ready, 1 if not (or if the port variable is not a port)."""
    text = next((os.environ[v] for v in PORT_VARIABLES if os.environ.get(v)), str(default_port))
    try:
        port = int(text)
    except ValueError:
        sys.exit(f"health: {PORT_VARIABLES[0]}={text!r} is not a port")
    sys.exit(0 if ready(port) else 1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8080)
