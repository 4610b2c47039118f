# Stand-in for python:3.11-slim-bookworm, built from Debian packages only.
# Debian bookworm's python3 is CPython 3.11. Like the official image it has
# `python`, `python3`, `pip` on PATH and lets pip install system-wide.
ARG BASE_IMAGE=rekap-base/debian:bookworm
FROM ${BASE_IMAGE}
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip ca-certificates netbase tzdata; \
    rm -rf /var/lib/apt/lists/*; \
    rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED; \
    ln -sf /usr/bin/python3 /usr/local/bin/python; \
    ln -sf /usr/bin/pip3 /usr/local/bin/pip; \
    python3 --version
# This site's extra CA certificates (see offline-images.sh), trusted by the
# system store and by pip (Debian's pip otherwise uses its own bundle).
COPY certs/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null 2>&1; rm -f /usr/local/share/ca-certificates/.keep
ENV LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.description="rekap stand-in for python:3.11-slim-bookworm (Debian python3)"
CMD ["python3"]
