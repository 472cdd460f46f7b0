#!/usr/bin/env bash
# Installs what the Docker tests need on a Debian 12 machine (root): the Debian Docker engine, docker-compose 1.29.2,
# debootstrap (local base images), Debian's registry and qemu (arm64 under emulation). Idempotent.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "already installed: docker.io docker-compose debootstrap docker-registry qemu-user-static"
fi
