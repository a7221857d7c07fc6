"""Who may call: an optional bearer token, read from a secret file.

OpenFaaS mounts a function's secrets at /var/openfaas/secrets/<name>; a Kubernetes Secret
volume can be mounted at the same path. When the file exists, every request but the health
probes must carry `Authorization: Bearer <its content>`. The file is checked on every request
(one stat), so a rotated secret takes effect without a restart. The token is compared in
constant time and never logged or echoed. A file that exists but cannot be read stops the
start-up (TokenFileError, one line naming the file and the uid); one that turns unreadable
later lets nobody in until it can be read again.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path


class TokenFileError(ValueError):
    """The token file exists but this process cannot read it."""


class BearerToken:
    def __init__(self, path: Path):
        self.path = path
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime) of the file read
        self._token: bytes | None = None
        try:
            self._read()
        except OSError as e:  # a secret mounted with a mode the process's uid cannot read
            reason = (e.strerror or type(e).__name__).lower()
            raise TokenFileError(f"cannot read the token file {path} ({reason}, as uid {os.getuid()})") from None

    def current(self) -> bytes | None:
        """The token in force, or None when no secret file exists (anyone may call)."""
        try:
            return self._read()
        except OSError:  # unreadable since start-up: better nobody in than everybody
            self._seen = None
            return b""

    def _read(self) -> bytes | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._token = None, None
            return None
        seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        if seen != self._seen:
            self._token = self.path.read_bytes().strip()
            self._seen = seen
        return self._token

    def allows(self, authorization: str | None) -> bool:
        token = self.current()
        if token is None:
            return True
        scheme, _, given = (authorization or "").partition(" ")
        # An empty secret lets nobody in: better than letting everybody in.
        return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token)
