#!/usr/bin/env python3
"""Container health check for every rekap service (one image, many commands).

Docker runs this as the image's HEALTHCHECK. It looks at the processes in
the container to see which service this is, then:

- intake / export (gunicorn): GET http://127.0.0.1:$INTAKE_PORT|$EXPORT_PORT/readyz
  (database and broker reachable); `--live` uses /healthz instead;
- recap worker (celery worker): a Celery ping to this worker's node;
- recap beat (celery beat): the broker answers PING;
- anything else (migrate, seed, loadtest, a shell): healthy.

Usage: rekap-healthcheck [--live] [URL]   (a URL skips the detection)
Exit 0 healthy, 1 unhealthy; one line of explanation on stdout.
"""

import os
import socket
import sys
import urllib.request
from pathlib import Path

TIMEOUT = float(os.environ.get("REKAP_HEALTHCHECK_TIMEOUT", "5"))


def command_lines():
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                raw = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if raw:
                yield raw.replace(b"\0", b" ").decode(errors="replace")


def which_service():
    lines = list(command_lines())
    joined = "\n".join(lines)
    if "services.intake" in joined:
        return "intake"
    if "services.export" in joined:
        return "export"
    for line in lines:
        if "celery" in line and " worker" in line:
            return "worker"
        if "celery" in line and " beat" in line:
            return "beat"
    return None


def check_http(url):
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            status = response.status
    except Exception as exc:  # URLError, HTTPError (4xx/5xx), timeout, reset
        return False, f"{url}: {exc}"
    return 200 <= status < 300, f"{url}: HTTP {status}"


def check_worker():
    from shared.celery_app import app  # the image's own package

    node = f"celery@{socket.gethostname()}"
    replies = app.control.ping(destination=[node], timeout=TIMEOUT)
    ok = any(node in reply for reply in replies or [])
    return ok, f"celery ping {node}: {'pong' if ok else 'no reply'}"


def check_broker():
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT).ping()
    except Exception as exc:
        return False, f"broker {url}: {exc}"
    return True, f"broker {url}: PONG"


def main(argv):
    live = "--live" in argv
    urls = [a for a in argv if not a.startswith("--")]
    path = "/healthz" if live else "/readyz"
    if urls:
        ok, why = check_http(urls[0])
    else:
        service = which_service()
        if service == "intake":
            ok, why = check_http(f"http://127.0.0.1:{os.environ.get('INTAKE_PORT', '8001')}{path}")
        elif service == "export":
            ok, why = check_http(f"http://127.0.0.1:{os.environ.get('EXPORT_PORT', '8002')}{path}")
        elif service == "worker":
            try:
                ok, why = check_worker()
            except Exception as exc:
                ok, why = False, f"celery ping failed: {exc}"
        elif service == "beat":
            ok, why = check_broker()
        else:
            ok, why = True, "no long-running rekap service here; nothing to check"
    print(("healthy: " if ok else "unhealthy: ") + why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
