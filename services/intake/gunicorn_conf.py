import multiprocessing
import os

from shared.gunicorn_conf import *  # noqa: F401,F403 - the shared settings

# One process per core with eight threads, not two with eight: a C.Hasil spends most of
# its time in Python, and fewer processes contending for the cores answer it sooner and
# spend less CPU on it. Eight threads rather than four: the submissions a process has
# in hand are stored together (services/intake/groupcommit.py), and with four the
# batches stay too small; twelve or sixteen cost more than they save (README,
# Benchmarks). Photos still arriving have threads of their own (WEB_UPLOAD_THREADS).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", 8))
bind = f"0.0.0.0:{os.environ.get('INTAKE_PORT', '8001')}"
