"""The WSGI entry point inside the package: ``gunicorn resonance.wsgi:app``.

Owns: the one app object a WSGI server imports. It ships with the package, so
an installed Resonance serves from any folder; the checkout's top-level
``wsgi.py`` re-exports it for ``gunicorn wsgi:app``.
"""

from resonance.app import create_app

app = create_app()
