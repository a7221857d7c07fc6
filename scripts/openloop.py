"""An open-loop load generator: Poisson arrivals at a fixed rate, each request sent at its
scheduled time whether or not earlier ones have answered (unlike wrk's closed loop, where a
slow answer delays the next request and hides the queue). Latency is measured from the
scheduled time, so time spent waiting for a free connection counts too.

    python -m scripts.openloop URL --rate 300 [--duration 15] [--seed 1]

asyncio on keep-alive connections (opened as needed, up to --connections), standard library only.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli
from scripts.launch import EXAMPLE_BODY


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status


async def _run(url: str, rate: float, duration: float, seed: int, connections: int, body: bytes) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    idle: list[_Connection] = []
    opened = 0
    free = asyncio.Condition()
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal opened, errors
        dispatched = time.perf_counter()
        async with free:
            while not idle and opened >= connections:
                await free.wait()
            if idle:
                conn = idle.pop()
            else:
                opened += 1
                conn = None
        try:
            if conn is None:
                conn = _Connection(*await asyncio.open_connection(host, port))
            status = await conn.post(request)
            latencies.append(time.perf_counter() - dispatched)
            if status != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn = None
            opened -= 1
        async with free:
            if conn is not None:
                idle.append(conn)
            free.notify()

    rng = random.Random(seed)
    start = time.perf_counter() + 0.05
    at, tasks = start, []
    while at < start + duration:
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one()))
        at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.writer.close()
    samples = list(latencies)
    latencies.sort()
    n = len(latencies)

    def q(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    return {"rate": rate, "duration_s": duration, "sent": len(tasks), "answered": n, "errors": errors,
            "achieved_rps": len(tasks) / duration, "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99),
            "mean_ms": statistics.fmean(latencies) * 1000 if n else float("nan"), "connections_opened": opened,
            "latencies_s": samples}


def run(url: str, rate: float, duration: float = 15.0, seed: int = 1, connections: int = 64,
        body: bytes = EXAMPLE_BODY) -> dict[str, Any]:
    """Poisson arrivals at `rate` per second for `duration` seconds; latency percentiles in ms."""
    return asyncio.run(_run(url, rate, duration, seed, connections, body))


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("url", help="where to POST the example record, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--rate", type=float, required=True, help="requests per second (Poisson)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="the arrivals' random seed (default 1)")
    parser.add_argument("--connections", type=int, default=64, help="at most this many connections (default 64)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")
    result = run(args.url, args.rate, args.duration, args.seed, args.connections)
    del result["latencies_s"]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
