import multiprocessing
import os

from shared.gunicorn_conf import *  # noqa: F401,F403 - the shared settings

# One process per core with four threads, not two with eight: a C.Hasil spends most of
# its time in Python, and fewer threads and processes contending for the cores and each
# worker's GIL answer it sooner and spend less CPU on it (README, Benchmarks). Photos
# still arriving have threads of their own (WEB_UPLOAD_THREADS).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", 4))
bind = f"0.0.0.0:{os.environ.get('INTAKE_PORT', '8001')}"
