"""The WSGI entry point of a checkout: ``gunicorn wsgi:app`` (resonance/wsgi.py)."""

from resonance.wsgi import app  # noqa: F401
