#!/usr/bin/env bash
# Prepares a Debian 12 machine (root) for the Docker tests: install, start the engine, registry and binfmt,
# build the local base images. Idempotent and timed; see docs/testing.md, Docker tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for step in install start base-images; do
  t=$SECONDS
  "$here/$step.sh"
  echo "[test-engine] $step: $((SECONDS - t)) s"
done
