#!/usr/bin/env bash
# Starts (when not running) dockerd, a registry on 127.0.0.1:5000 and the aarch64 binfmt handler. Idempotent.
# State and logs live in D8_ENGINE_STATE (default /var/tmp/d8-test-engine).
set -euo pipefail
state=${D8_ENGINE_STATE:-/var/tmp/d8-test-engine}
mkdir -p "$state"

if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd (log: $state/dockerd.log)"
  nohup dockerd >"$state/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not answer within 60 s"; tail -n 20 "$state/dockerd.log"; exit 1; }
fi
echo "dockerd: $(docker version --format '{{.Server.Version}}') ($(docker info --format '{{.Architecture}}'))"

if ! curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  echo "starting registry on 127.0.0.1:5000 (log: $state/registry.log)"
  mkdir -p "$state/registry"
  cat >"$state/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YML
  nohup docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 &
  for _ in $(seq 1 30); do curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break; sleep 1; done
  curl -fsS http://127.0.0.1:5000/v2/ >/dev/null || { echo "registry did not answer"; tail -n 20 "$state/registry.log"; exit 1; }
fi
echo "registry: http://127.0.0.1:5000"

if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
fi
echo "binfmt: qemu-aarch64 $(head -n 1 /proc/sys/fs/binfmt_misc/qemu-aarch64)"
