"""The Celery app both sides use: intake publishes, recap workers consume.

Settings for at-least-once delivery of idempotent tasks (every rollup
recomputes from stored rows, so running one twice is harmless, and the
outbox in PostgreSQL, not the broker, is the record of work to do):
- acks_late + reject_on_worker_lost: a task whose worker dies is redelivered,
  not lost (celery#3541, #7924); a task running when the broker connection
  drops is cancelled and redelivered too, it cannot be acked any more;
- prefetch 1: a killed worker takes at most one unacked task with it;
- one visibility_timeout for broker and backend alike; tasks are short
  (seconds, hard limits well below it), so a live task is never redelivered
  (celery#2481), and a lost one is repaired long before by the reconciler;
- results ignored and no result backend: nothing fills Redis (celery#7801);
- reconnect to the broker forever: a worker outlives a Redis restart;
- separate queues: rollups on `rollup`, workbook builds on `export`, each
  consumed by its own worker processes, so exports never delay a rollup.
"""

import os

from celery import Celery

from shared import settings

VISIBILITY_TIMEOUT = 600  # seconds; every task's hard time limit is far below it

QUEUE_ROLLUP = "rollup"
QUEUE_EXPORT = "export"  # workbook builds never delay rollups

_TRANSPORT = {"visibility_timeout": VISIBILITY_TIMEOUT, "socket_timeout": 5, "socket_connect_timeout": 2,
              "retry_on_timeout": True}

app = Celery("rekap")
app.conf.update(
    broker_url=settings.load().redis_url,
    broker_connection_retry_on_startup=True,
    broker_connection_retry=True,
    broker_connection_max_retries=None,  # a worker waits out a broker outage, however long
    broker_transport_options=_TRANSPORT,
    result_backend_transport_options=_TRANSPORT,
    broker_connection_timeout=2,
    broker_heartbeat=0,
    task_publish_retry=False,  # a publisher never blocks a request: the outbox covers failures
    result_backend=None,
    task_ignore_result=True,
    task_store_errors_even_if_ignored=False,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_acks_on_failure_or_timeout=True,  # a failed rollup leaves its outbox rows: nothing to redeliver
    worker_cancel_long_running_tasks_on_connection_loss=True,
    worker_prefetch_multiplier=1,
    worker_max_tasks_per_child=int(os.environ.get("WORKER_MAX_TASKS_PER_CHILD", "10000")),
    worker_send_task_events=False,
    task_send_sent_event=False,
    task_default_queue=QUEUE_ROLLUP,
    task_routes={"rekap.rollup": {"queue": QUEUE_ROLLUP}, "rekap.rekonsiliasi*": {"queue": QUEUE_ROLLUP},
                 "rekap.export.*": {"queue": QUEUE_EXPORT}},
    task_time_limit=300,
    worker_hijack_root_logger=False,
    beat_schedule={
        # Cheap: is anything waiting without a task? Expires rather than piling up while workers are down.
        "rekonsiliasi": {"task": "rekap.rekonsiliasi", "schedule": 5.0, "options": {"expires": 5.0}},
        # A full comparison of every region with the rows below it.
        "rekonsiliasi-desa": {"task": "rekap.rekonsiliasi_desa", "schedule": 60.0, "options": {"expires": 60.0}},
    },
    imports=["services.recap.tasks", "services.export.tasks"],
)
