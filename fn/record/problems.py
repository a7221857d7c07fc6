"""What a client can get wrong, declared once: every refusal is a ClientError whose class carries
its HTTP status, the reason it is counted under (device_price_requests_rejected_total) and its
status in the standard protocols (KServe v1, Open Inference Protocol v2), which answer 400 for
any bad input. fn/api/errors.py renders them; nothing else maps a failure to a status.

The client's own text appears in a message only through clip() (at most 40 characters), so an
answer never echoes a body back. Standard library only: the record layer is the lowest.
"""

from __future__ import annotations

from typing import Any

CLIP = 40  # characters of a client's text a message may quote


def clip(text: str, limit: int = CLIP) -> str:
    """A client's text, cut to `limit` characters (… marks the cut)."""
    return text if len(text) <= limit else text[:limit] + "…"


def quote(text: str) -> str:
    """A client's text in a message: quoted and clipped."""
    return repr(clip(text))


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for one: "1 row", "3 rows"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def json_type(value: Any) -> str:
    """A value's type as JSON names it (what a client sent, in the API's words)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def detail(field: str | None, reason: str, row: int | None = None, **more: Any) -> dict[str, Any]:
    """One problem, {row, field, reason} (and e.g. the CSV line): the one shape of every detail.

    `row` counts the records sent from 1 (instances[0], a CSV's first data row and a v2 tensor's
    first element are all row 1), everywhere; None for a single record or the request itself."""
    return {"row": row, "field": None if field is None else clip(field), "reason": reason, **more}


class ClientError(Exception):
    """A failure the client caused. Subclasses set the three class attributes."""

    status = 400  # the native API's status
    protocol_status: int | None = None  # the standard protocols' status, when it differs
    reason = "bad_request"  # the label it is counted under
    summary = "not a request of this API"  # what the status means, in the OpenAPI document

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None,
                 headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.message, self.details, self.headers = message, details or [], headers or []

    @classmethod
    def status_for(cls, protocol: bool) -> int:
        return (cls.protocol_status or cls.status) if protocol else cls.status


class ValidationError(ClientError):
    """A well-formed request whose values are wrong: every problem found, each a detail()."""

    status, protocol_status, reason = 422, 400, "validation"
    summary = "a record's values are wrong (the details name each)"

    def __str__(self) -> str:
        lines = [self.message] + [f"  {_where(d)}: {d['reason']}" for d in self.details[:20]]
        if len(self.details) > 20:
            lines.append(f"  ... and {len(self.details) - 20} more")
        return "\n".join(lines)


def _where(d: dict[str, Any]) -> str:
    """Where a problem is, as a command line prints it: "line 4, ram" (a CSV line; "line 4 (A-003), ram"
    with the row's own id), "row 3, ram" (a record of a batch), "ram" (the request's one record),
    "line 2" (a line as a whole)."""
    place = f"line {d['line']}" if d.get("line") else f"row {d['row']}" if d.get("row") is not None else ""
    place += f" ({d['id']})" if place and d.get("id") else ""  # a CSV row's own id
    return ", ".join(part for part in (place, d["field"]) if part)
