"""The device-price function: the served model, its HTTP API and the worker supervisor."""

__version__ = "0.1.0"  # the package's (pyproject.toml), reported by GET /v2
