import os

from shared.gunicorn_conf import *  # noqa: F401,F403 - the shared settings

bind = f"0.0.0.0:{os.environ.get('INTAKE_PORT', '8001')}"

# Fewer threads than the export: a submission is Python work plus one short PostgreSQL
# statement, and slow clients wait in the worker's main loop, not in a thread. At 64
# connections, 4 threads per worker used 13% less CPU per submission than 8 (less GIL
# contention, half the database connections); the export's threads wait on clients.
threads = int(os.environ.get("WEB_THREADS", 4))
