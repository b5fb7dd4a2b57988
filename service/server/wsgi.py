"""WSGI entry point for gunicorn: the app built from the environment's settings."""

from . import create_app

app = create_app()
