"""WSGI entry point for gunicorn: the app built from the environment's settings.

Each worker imports this after the fork and loads its models here, before it accepts its first
connection: a worker never answers while warming up (clients wait in the listen backlog instead
of getting 503s), and ``/readyz`` reports 503 only if loading failed.
"""

from . import create_app

app = create_app(background=False)
