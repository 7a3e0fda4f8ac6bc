"""The WSGI entry point: ``gunicorn wsgi:app``."""

from resonance import create_app

app = create_app()
