import os

from shared.gunicorn_conf import *  # noqa: F401,F403 - the shared settings

# Four threads, not eight, for the requests that have arrived: C.Hasil submissions spend
# most of their time in Python, and fewer threads contending for a worker's GIL answer
# them sooner (docs/reliability.md); photos arriving slowly have threads of their own.
threads = int(os.environ.get("WEB_THREADS", 4))
bind = f"0.0.0.0:{os.environ.get('INTAKE_PORT', '8001')}"
