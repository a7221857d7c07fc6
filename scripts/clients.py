"""Closed-loop load as a context manager: `n` threads, each running `client()` until the block
ends (standard library only: the benchmarks that use it also run where only python3 is)."""

from __future__ import annotations

import threading
from typing import Any


class Clients:
    """Subclasses write `client()`, one request at a time until `self.stop` is set, and may keep
    results under `self.lock`; `finished()` runs once every thread has joined."""

    join_seconds = 60.0

    def __init__(self, n: int):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(n)]

    def client(self) -> None:
        raise NotImplementedError

    def finished(self) -> None:
        """After the threads have stopped."""

    def __enter__(self) -> Any:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(self.join_seconds)
        self.finished()
