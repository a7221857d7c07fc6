"""The images' own health check: exit 0 when this container's service answers /_/ready with 200.

    HEALTHCHECK CMD ["/usr/bin/python3", "-S", "-m", "fn.health"]            (Dockerfile.fn)
    HEALTHCHECK CMD ["/usr/bin/python3", "-S", "-m", "fn.health", "baseline"] (Dockerfile.server)

The images are FROM scratch, with no shell or curl, so the check runs the image's own Python.
Docker Swarm (OpenFaaS's faas-swarm provider) routes to a task only once its check has passed,
and with `start-first` updates it stops the old task only then: without a check the new task is
sent requests before it listens. /_/ready is 200 once the model is loaded and verified and 503
from SIGTERM on. The port is the one the service reads from its environment (fn.settings); one
plain socket exchange keeps the check's own cost to the interpreter's start.
"""

from __future__ import annotations

import socket
import sys

from fn import settings


def ready(port: int, timeout: float = 2.0) -> bool:
    """True when 127.0.0.1:port answers GET /_/ready with 200."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(b"GET /_/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            status_line = conn.recv(64).split(b"\r\n", 1)[0].split()
    except OSError:
        return False
    return len(status_line) >= 2 and status_line[1] == b"200"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    program = argv[0] if argv else "fn"  # "baseline": the server's defaults (port 8000)
    try:
        port = settings.from_env(program=program).port
    except settings.ConfigError as e:
        print(f"health: {e}", file=sys.stderr)
        return 1
    return 0 if ready(port) else 1


if __name__ == "__main__":
    sys.exit(main())
