"""Who is calling: set per request by access control, read by views when they log a decision."""

from __future__ import annotations

from flask import g


def caller() -> tuple[str, str | None]:
    """Return (caller id, role) for the current request; ("anonymous", None) before sign-in exists."""
    return g.get("caller", ("anonymous", None))
