"""gunicorn settings both web services share (production and `rekap run`).

Threads rather than many processes: a request spends most of its time
waiting on PostgreSQL, and 2-core hosts are the norm at KPU offices.
Override with the usual GUNICORN_CMD_ARGS or WEB_CONCURRENCY / WEB_THREADS
(the intake, mostly Python per request, runs one process per core with 8
threads: services/intake/gunicorn_conf.py); requests whose body is still
arriving get WEB_UPLOAD_THREADS more (shared/gunicorn_worker.py).
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "shared.gunicorn_worker.SlowClientWorker"  # gthread with slow-client limits (WEB_HEADER_TIMEOUT, ...)
threads = int(os.environ.get("WEB_THREADS", 8))
timeout = 30  # a stuck worker is replaced; clients retry with their Idempotency-Key
graceful_timeout = 20
keepalive = 30  # KPPS phones reuse connections over slow links
limit_request_line = 4096
limit_request_fields = 50
accesslog = None  # request metrics are in /metrics; logs stay small on election night
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "warning")


def post_fork(server, worker):
    # Connections must never be shared across a fork.
    from shared.db.engine import dispose

    dispose()


def post_worker_init(worker):
    # The app is loaded, and nearly all it holds (modules, routes, schemas, the OpenAPI
    # spec) lives as long as the worker. Frozen, the collector no longer walks it on
    # every full collection: 3 to 7% less of the intake's CPU per C.Hasil (README).
    import gc

    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
