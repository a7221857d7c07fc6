"""A stand-in for the OpenFaaS gateway and faas-swarm on a Docker swarm, for machines without their
binaries (CI): /function/NAME[/PATH] proxied to the function's tasks, waking a service scaled to
zero first, as the CE gateway 0.27.14 with scale_from_zero=true and faas-swarm 0.9.1 do it.

    docker run --network NET -v /var/run/docker.sock:/var/run/docker.sock --user 0 \
      --entrypoint /usr/bin/python3 -v $PWD/harness/gateway_standin.py:/standin.py:ro IMAGE /standin.py

It runs inside a container on the functions' overlay network (the function image's own Python,
standard library only), because that is the only place the tasks' addresses are reachable. What
it copies, read in their sources (gateway/scaling/function_scaler.go, faas-swarm
handlers/replica_reader.go and proxy.go):
- a function's replicas are its service's desired count; its available replicas are its tasks in
  state running (with a HEALTHCHECK swarm reports a task running only once it is healthy);
- no available replica: when the desired count is 0, set it to 1 and log
  `[Scale 1/20] function=NAME 0 => 1 requested`; then poll every 100 ms until one is available, log
  `[Ready] function=NAME waited for - S s`, and pass the request on; no replica within 60 s: 502;
- the request goes to port 8080 of one address of `tasks.NAME` (dnsrr), with /function/NAME
  stripped from the path, its method, headers and body as they came; only GET, POST, PUT, PATCH
  and DELETE are passed on: any other method (HEAD) gets 405 with no body once the function is
  ready, as faas-provider's proxy.go answers it.
What it does not do: the REST API (/system/*), authentication, metrics, queues. Tests hold only
what it copies (tests/test_swarm.py); tests/test_openfaas.py holds the same against the real one.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCKER_SOCKET = "/var/run/docker.sock"
POLL_SECONDS = 0.1  # the gateway's FunctionPollInterval
MAX_WAIT_SECONDS = 60.0
PASSED_ON = {"GET", "POST", "PUT", "PATCH", "DELETE"}  # faas-provider proxy.go; the rest: 405
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class DockerSocket(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost", timeout=30)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(DOCKER_SOCKET)


def engine(method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    """One call to the Docker Engine API: (status, decoded JSON or None)."""
    conn = DockerSocket()
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, data, {"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw.strip() else None
    finally:
        conn.close()


def replicas(function: str) -> tuple[int, int, dict | None]:
    """(desired, available, the service) as faas-swarm counts them; (0, 0, None) when not found."""
    status, service = engine("GET", f"/services/{urllib.parse.quote(function)}")
    if status != 200:
        return 0, 0, None
    desired = service["Spec"]["Mode"].get("Replicated", {}).get("Replicas", 0)
    query = urllib.parse.quote(json.dumps({"service": [function], "desired-state": ["running"]}))
    _, tasks = engine("GET", f"/tasks?filters={query}")
    available = sum(1 for t in tasks or [] if t["Status"]["State"] == "running")
    return desired, available, service


def scale_to_one(function: str, service: dict) -> None:
    spec = service["Spec"]
    spec["Mode"]["Replicated"]["Replicas"] = 1
    engine("POST", f"/services/{service['ID']}/update?version={service['Version']['Index']}", spec)


def log(line: str) -> None:
    print(time.strftime("%Y/%m/%d %H:%M:%S ") + line, flush=True)


def ready(function: str) -> bool:
    """True once an available replica exists, waking the function first if it is scaled to zero."""
    started = time.monotonic()
    desired, available, service = replicas(function)
    if service is None:
        return False
    if available > 0:
        return True
    if desired == 0:
        log(f"[Scale 1/20] function={function} 0 => 1 requested")
        scale_to_one(function, service)
    while time.monotonic() - started < MAX_WAIT_SECONDS:
        _, available, _ = replicas(function)
        if available > 0:
            log(f"[Ready] function={function} waited for - {time.monotonic() - started:.4f}s")
            return True
        time.sleep(POLL_SECONDS)
    return False


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.split("/", 3)  # "", "function", NAME, the rest
        if len(parts) < 3 or parts[1] != "function" or not parts[2]:
            return self.reply(404, b"only /function/NAME is served here\n")
        function = parts[2]
        rest = "/" + (parts[3] if len(parts) > 3 else "") + (f"?{url.query}" if url.query else "")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not ready(function):
            return self.reply(502, f"no replica of {function} became available\n".encode())
        if self.command not in PASSED_ON:
            return self.reply(405, b"")
        try:
            address = random.choice(socket.getaddrinfo(f"tasks.{function}", 8080, socket.AF_INET,
                                                       socket.SOCK_STREAM))[4][0]
            upstream = http.client.HTTPConnection(address, 8080, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, rest, body, headers)
            answer = upstream.getresponse()
            data = answer.read()
        except OSError as e:
            return self.reply(502, f"{function}: {e}\n".encode())
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:  # one line per request would drown the scaling lines
        pass


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    ThreadingHTTPServer.daemon_threads = True
    log(f"gateway stand-in listening on :{port}")
    ThreadingHTTPServer(("0.0.0.0", port), Proxy).serve_forever()


if __name__ == "__main__":
    main()
