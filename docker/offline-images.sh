#!/usr/bin/env bash
# Build the stand-in base images for an air-gapped Docker build.
#
# No image registry is reachable here, so instead of pulling
# python:3.11-slim-bookworm, postgres:16-bookworm and redis:7-bookworm we
#   1. debootstrap a minimal Debian bookworm root file system from the apt
#      mirror this machine already uses (cached as a tarball under .cache/),
#   2. `docker import` it as rekap-base/debian:bookworm,
#   3. build three small images on it from Debian packages:
#        rekap-base/python:3.11   python3 (3.11) + venv + pip
#        rekap-base/postgres:15   postgresql-15 with an official-style entrypoint
#        rekap-base/redis:7       redis-server 7.0 with an official-style entrypoint
#
# Idempotent: a second run reuses the cached tarball, skips the import when
# the image already holds that tarball, and the builds hit Docker's cache.
#
# Environment:
#   REKAP_CACHE_DIR   where the rootfs tarball lives (default: <repo>/.cache/docker)
#   DEBIAN_MIRROR     apt mirror for debootstrap (default: from /etc/apt sources)
#   DEBIAN_SECURITY   security mirror written into the images (default: derived)
#   EXTRA_CA_CERTS    CA files (*.crt) the python stand-in trusts
#                     (default: /usr/local/share/ca-certificates/*.crt)
#   REFRESH=1         rebuild the tarball and build with --no-cache
#   DOCKER            docker client (default: docker)
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
DOCKER=${DOCKER:-docker}
CACHE_DIR=${REKAP_CACHE_DIR:-$repo/.cache/docker}
SUITE=bookworm
DEBIAN_TAG=rekap-base/debian:bookworm
PYTHON_TAG=${PYTHON_BASE_TAG:-rekap-base/python:3.11}
POSTGRES_TAG=${POSTGRES_BASE_TAG:-rekap-base/postgres:15}
REDIS_TAG=${REDIS_BASE_TAG:-rekap-base/redis:7}
TARBALL=$CACHE_DIR/debian-$SUITE-minbase.tar

say() { printf '\033[1m[images-offline]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[images-offline] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

start=$(date +%s)

# --- which apt mirror does this machine use? --------------------------------
detect_mirror() {
  # deb822 sources first (Debian 12 default), then one-line sources.
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      BEGIN { RS=""; FS="\n" }
      {
        uris=""; suites=""; types=""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", $i); uris=$i }
          if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites=" " $i " " }
          if ($i ~ /^Types:/)  { types=$i }
        }
        if (types ~ /deb( |$)/ && suites ~ (" " suite " ")) { split(uris, u, " "); print u[1]; exit }
      }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '$1 == "deb" && $0 !~ /\[.*\]/ && $3 == suite { print $2; exit }
                                 $1 == "deb" && $0 ~ /\[.*\]/ { for (i = 2; i <= NF; i++) if ($i ~ /\]$/) { if ($(i+2) == suite) { print $(i+1); exit } } }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  echo "http://deb.debian.org/debian"
}

MIRROR=${DEBIAN_MIRROR:-$(detect_mirror)}
MIRROR=${MIRROR%/}
SECURITY=${DEBIAN_SECURITY:-${MIRROR%/debian}/debian-security}

# --- the engine and the tools ------------------------------------------------
$DOCKER info >/dev/null 2>&1 || die "the Docker engine does not answer; run docker/ensure-engine.sh first"

# --- 1. the root file system tarball (cached) --------------------------------
if [ -s "$TARBALL" ] && [ "${REFRESH:-0}" != 1 ]; then
  say "rootfs: using cached $TARBALL ($(du -h "$TARBALL" | cut -f1))"
else
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (apt-get install -y debootstrap, or run docker/ensure-engine.sh)"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  mkdir -p "$CACHE_DIR"
  rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  say "rootfs: debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes, once)"
  debootstrap --variant=minbase --arch="$(dpkg --print-architecture)" "$SUITE" "$rootfs" "$MIRROR" \
    > "$CACHE_DIR/debootstrap.log" 2>&1 \
    || { tail -30 "$CACHE_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE_DIR/debootstrap.log)"; }

  say "rootfs: trimming it the way the official debian:*-slim images are trimmed"
  # apt sources: the same mirror the host uses, plus updates and security.
  rm -f "$rootfs/etc/apt/sources.list"
  cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  # No services started by package scripts inside image builds.
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  # No documentation, man pages or translations in images (debian-slim's list).
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  cat > "$rootfs/etc/apt/apt.conf.d/docker-slim" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
CFG
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
         "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
         "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* 2>/dev/null || true
  : > "$rootfs/etc/hostname"
  printf 'nameserver 127.0.0.1\n' > "$rootfs/etc/resolv.conf"   # Docker replaces it at run time

  say "rootfs: packing $TARBALL"
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$rootfs"; trap - EXIT
  say "rootfs: $(du -h "$TARBALL" | cut -f1)"
fi

# --- 2. docker import (skipped when the image already holds this tarball) ----
sum=$(sha256sum "$TARBALL" | cut -c1-64)
have=$($DOCKER image inspect -f '{{ index .Config.Labels "org.rekap.rootfs-sha256" }}' "$DEBIAN_TAG" 2>/dev/null || true)
if [ "$have" = "$sum" ]; then
  say "import: $DEBIAN_TAG already holds this rootfs (sha256 ${sum:0:12})"
else
  say "import: docker import $TARBALL as $DEBIAN_TAG"
  $DOCKER import \
    --change "LABEL org.rekap.rootfs-sha256=$sum" \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase from $MIRROR (rekap stand-in)\"" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$TARBALL" "$DEBIAN_TAG" >/dev/null
fi

# --- 3. the three stand-in images --------------------------------------------
nocache=
[ "${REFRESH:-0}" = 1 ] && nocache=--no-cache
build() {  # build TAG DOCKERFILE
  local tag=$1 file=$2
  say "build: $tag  (docker/base/$file)"
  # Host network: apt inside the build reaches the mirror exactly as the host does.
  if ! $DOCKER build --force-rm --network host $nocache \
        --build-arg "BASE_IMAGE=$DEBIAN_TAG" \
        -t "$tag" -f "$ctx/$file" "$ctx" > "$CACHE_DIR/build-${file%.Dockerfile}.log" 2>&1; then
    tail -40 "$CACHE_DIR/build-${file%.Dockerfile}.log" >&2
    die "building $tag failed (log: $CACHE_DIR/build-${file%.Dockerfile}.log)"
  fi
}
# Build context: docker/base plus this site's extra CA certificates (a TLS
# proxy between us and PyPI needs them trusted inside image builds). They
# are copied on every run so a changed CA invalidates just that layer.
ctx=$CACHE_DIR/context
rm -rf "$ctx"; mkdir -p "$ctx/certs"
cp "$here"/base/* "$ctx"/
touch "$ctx/certs/.keep"
ncert=0
for crt in ${EXTRA_CA_CERTS:-/usr/local/share/ca-certificates/*.crt}; do
  [ -f "$crt" ] || continue
  cp "$crt" "$ctx/certs/"; ncert=$((ncert + 1))
done
say "certs: $ncert extra CA certificate(s) from ${EXTRA_CA_CERTS:-/usr/local/share/ca-certificates} go into the python stand-in"

build "$PYTHON_TAG"   python.Dockerfile
build "$POSTGRES_TAG" postgres.Dockerfile
build "$REDIS_TAG"    redis.Dockerfile

say "done in $(( $(date +%s) - start ))s:"
$DOCKER image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' 'rekap-base/*' | sort | sed 's/^/  /'
say "use them with: PYTHON_IMAGE=$PYTHON_TAG POSTGRES_IMAGE=$POSTGRES_TAG REDIS_IMAGE=$REDIS_TAG"
