"""Security headers: a Content-Security-Policy with a per-request nonce on the
dashboard, and the headers every response should carry.

Owns: the policy text and the nonce templates put on their ``<script>`` tags
(``nonce="{{ csp_nonce() }}"``). The dashboard has no inline code at all (its
JavaScript is in static files, figure data in ``<script type="application/json">``),
so ``script-src`` allows only scripts that carry this request's nonce: not even a
same-origin ``<script src>`` an attacker managed to inject would run.

Why each directive:

- ``script-src 'nonce-…'``: no ``'unsafe-inline'``, no ``'self'``, no
  ``'unsafe-eval'`` (plotly.js draws the heatmap, bar and scatter figures without
  ``eval``/``new Function``; only its WebGL traces would need it, and we use none).
- ``style-src 'self' 'nonce-…'``, no ``'unsafe-inline'`` either: plotly.js sets
  styles through the CSSOM (allowed) except in two places, both pre-empted by the
  pages that load it (:func:`plotly_style_placeholders`). It fills a
  ``<style id="plotly.js-style-global">`` it creates unless one exists: the page
  provides an empty one with the nonce, which plotly fills with ``insertRule``.
  And the bundled maplibre (map traces, unused here) appends its CSS as an inline
  ``<style>`` unless an element with its id exists: the page provides an empty
  ``<template>`` with that id. A plotly upgrade that adds another one shows up as
  a CSP violation in the browser tests.
- ``img-src 'self' data: blob:``: heatmaps are drawn to a canvas and placed in the
  SVG as a ``data:`` image; the PNG download uses ``blob:``.
- ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for old browsers): no
  page may frame the dashboard (clickjacking of the note form).
- ``form-action 'self'``, ``base-uri 'none'``, ``object-src 'none'``,
  ``default-src 'none'`` for everything not named.

The demo site under ``/demo`` plays a customer's site with the documented inline
snippet loader, so it gets no CSP; every response gets ``nosniff`` and a
``Referrer-Policy`` of ``same-origin`` (dashboard URLs hold searches and lead ids,
which must not leak to the sites they link to; same-origin form posts keep their
``Origin``, which the note form checks).
"""

from __future__ import annotations

import re
import secrets
from functools import cache

from flask import Flask, Response, g, request
from plotly.offline import get_plotlyjs

NONCE_BYTES = 18
# Every response, including those of ``POST /e`` (tracker/collector.py).
EVERY_RESPONSE = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)
# Paths that get the page policy: the dashboard (pages and their JSON twins).
POLICY_PREFIXES = ("/dash", "/login")


def csp_nonce() -> str:
    """This request's nonce, made on first use (templates call it per tag)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
    return nonce


@cache
def plotly_style_placeholders() -> tuple[str, ...]:
    """Ids of the ``<style>`` elements plotly.js would create and fill with inline
    CSS unless an element with that id is already in the page (read from the
    bundle the app serves, so an upgrade keeps them in step)."""
    return tuple(dict.fromkeys(_GUARDED_STYLE.findall(get_plotlyjs())))


_GUARDED_STYLE = re.compile(
    r'getElementById\("([^"]+)"\)\)\{var \w+=document\.createElement\("style"\)'
)


def policy(nonce: str) -> str:
    """The dashboard's Content-Security-Policy for one response."""
    directives = {
        "default-src": "'none'",
        "script-src": f"'nonce-{nonce}'",
        "style-src": f"'self' 'nonce-{nonce}'",
        "img-src": "'self' data: blob:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "form-action": "'self'",
        "base-uri": "'none'",
        "object-src": "'none'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _secure(response: Response) -> Response:
    headers = response.headers
    for name, value in EVERY_RESPONSE:
        headers.setdefault(name, value)
    if request.path.startswith(POLICY_PREFIXES):
        headers["Content-Security-Policy"] = policy(csp_nonce())
        headers["X-Frame-Options"] = "DENY"
    return response


def init_app(app: Flask) -> None:
    """Expose ``csp_nonce()`` and the plotly placeholders to templates; add the
    headers to every response."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.globals["plotly_style_placeholders"] = plotly_style_placeholders
    app.after_request(_secure)
