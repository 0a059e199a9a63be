"""Who is calling: set per request by access control, read by views when they log a decision."""

from __future__ import annotations

from flask import g


def caller() -> tuple[str, str | None]:
    """Return (key id, role) of the current caller, as web.access set it; ("anonymous", None) on open endpoints."""
    return g.get("caller", ("anonymous", None))
