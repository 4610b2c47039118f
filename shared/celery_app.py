"""The Celery app both sides use: intake publishes, recap workers consume.

Settings for at-least-once delivery of idempotent tasks (every rollup
recomputes from stored rows, so running one twice is harmless):
- acks_late + reject_on_worker_lost: a task whose worker dies is redelivered,
  not lost (celery#3541, #7924);
- prefetch 1: a killed worker takes at most one unacked task with it;
- one visibility_timeout for broker and backend alike; tasks are short
  (seconds), far below it, so no redelivery of live tasks (celery#2481);
- results ignored and no result backend: nothing fills Redis (celery#7801).
"""

from celery import Celery

from shared import settings

VISIBILITY_TIMEOUT = 600  # seconds; every task finishes well within it

QUEUE_ROLLUP = "rollup"
QUEUE_EXPORT = "export"  # workbook builds never delay rollups

app = Celery("rekap")
app.conf.update(
    broker_url=settings.load().redis_url,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT,
                              "socket_timeout": 2, "socket_connect_timeout": 2},
    broker_connection_timeout=2,
    task_publish_retry=False,  # a publisher never blocks a request: the outbox covers failures
    result_backend=None,
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE_ROLLUP,
    task_routes={"rekap.export.*": {"queue": QUEUE_EXPORT}},
    task_time_limit=300,
    worker_hijack_root_logger=False,
    beat_schedule={
        "rekonsiliasi": {"task": "rekap.rekonsiliasi", "schedule": 5.0},
        "rekonsiliasi-desa": {"task": "rekap.rekonsiliasi_desa", "schedule": 60.0},
    },
    imports=["services.recap.tasks", "services.export.tasks"],
)
