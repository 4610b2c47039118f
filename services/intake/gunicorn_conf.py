import os

from shared.gunicorn_conf import *  # noqa: F401,F403 - the shared settings

bind = f"0.0.0.0:{os.environ.get('INTAKE_PORT', '8001')}"
