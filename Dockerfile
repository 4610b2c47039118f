# One image for every rekap Python service; each compose service is a command:
#   intake   gunicorn -c python:services.intake.gunicorn_conf 'services.intake.app:create_app()'
#   export   gunicorn -c python:services.export.gunicorn_conf 'services.export.app:create_app()'
#   worker   celery -A shared.celery_app worker -Q rollup,export --loglevel=INFO
#   beat     celery -A shared.celery_app beat --loglevel=INFO --schedule /tmp/celerybeat-schedule
#   one-off  rekap db upgrade && rekap seed; rekap loadtest --host http://intake:8001 --export http://export:8002
#
# Air-gapped: build with --build-arg PYTHON_IMAGE=rekap-base/python:3.11
# (made by `make images-offline`, see docs/docker.md).
# Works with the classic builder and BuildKit alike (no BuildKit-only syntax).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build
# Optional package index for sites with a PyPI mirror (default: pip's own).
ARG PIP_INDEX=
ARG PIP_EXTRA_INDEX=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/rekap
WORKDIR /src
# Pinned dependencies first, in their own layer: code edits don't refetch them.
COPY pyproject.toml docker/pyproject-deps.py ./
# The `load` extra brings aiohttp for `rekap loadtest` (the compose `loadtest`
# service); locust stays out of the image (people run it from a checkout).
RUN python3 pyproject-deps.py pyproject.toml --extra load --without locust > requirements.txt \
 && /opt/rekap/bin/pip install --only-binary=:all: \
        ${PIP_INDEX:+--index-url "$PIP_INDEX"} ${PIP_EXTRA_INDEX:+--extra-index-url "$PIP_EXTRA_INDEX"} \
        -r requirements.txt
# Then the project itself (not editable), without touching the pinned deps.
COPY pyproject.toml README* LICENSE* ./
COPY shared ./shared
COPY services ./services
RUN /opt/rekap/bin/pip install --no-deps \
        ${PIP_INDEX:+--index-url "$PIP_INDEX"} ${PIP_EXTRA_INDEX:+--extra-index-url "$PIP_EXTRA_INDEX"} \
        . \
 && /opt/rekap/bin/pip check \
 && /opt/rekap/bin/python -m compileall -q /opt/rekap/lib \
 && /opt/rekap/bin/rekap --help >/dev/null

# -------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="rekap" \
      org.opencontainers.image.description="rekap election recap suite: intake, recap workers, export"
RUN groupadd --gid 10001 rekap \
 && useradd --uid 10001 --gid rekap --home-dir /home/rekap --create-home \
        --shell /usr/sbin/nologin rekap \
 && mkdir -p /var/lib/rekap \
 && chown rekap:rekap /var/lib/rekap
COPY --from=build /opt/rekap /opt/rekap
COPY docker/healthcheck.py /usr/local/bin/rekap-healthcheck
RUN chmod 755 /usr/local/bin/rekap-healthcheck
ENV PATH=/opt/rekap/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    REKAP_DATA_DIR=/var/lib/rekap \
    INTAKE_PORT=8001 \
    EXPORT_PORT=8002
USER rekap:rekap
WORKDIR /home/rekap
# The check finds out which service runs here (see docker/healthcheck.py).
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["rekap-healthcheck"]
CMD ["rekap", "--help"]
