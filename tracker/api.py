"""The CRM-side JSON API under ``/api``: leads and stage changes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
