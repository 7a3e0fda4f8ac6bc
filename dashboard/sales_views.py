"""Sales and influence pages: prospects, their reading history, content influence."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "sales", __name__, url_prefix="/dash/sites/<site_key>", template_folder="templates"
)
