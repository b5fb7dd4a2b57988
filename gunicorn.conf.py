# gunicorn -c gunicorn.conf.py   (what `transnorm serve` runs; settings from TRANSNORM_* variables)
from transnorm.server.gunicorn_conf import *  # noqa: F403
