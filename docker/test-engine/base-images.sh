#!/usr/bin/env bash
# Builds the local stand-in for mcr.microsoft.com/dotnet/runtime-deps (no internet registry is reachable on CI):
# a Debian bookworm minbase root file system with libssl3, ca-certificates and the user/group app (uid/gid 1654),
# for amd64 and arm64, pushed to the local registry as localhost:5000/d8-base:amd64 and :arm64.
# Idempotent: a tag already in the registry is kept; root file systems are cached in D8_ENGINE_STATE.
set -euo pipefail
state=${D8_ENGINE_STATE:-/var/tmp/d8-test-engine}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$state"

in_registry() { curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://127.0.0.1:5000/v2/d8-base/manifests/$1" 2>/dev/null; }

customise() { # $1 = rootfs
  chroot "$1" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq --no-install-recommends libssl3 ca-certificates >/dev/null &&
    apt-get clean && rm -rf /var/lib/apt/lists/* &&
    (getent group app >/dev/null || groupadd --gid 1654 app) &&
    (getent passwd app >/dev/null || useradd --uid 1654 --gid 1654 --create-home --shell /bin/sh app)'
}

build() { # $1 = debian arch (amd64|arm64)
  local arch=$1 rootfs="$state/rootfs-$1"
  if in_registry "$arch"; then echo "localhost:5000/d8-base:$arch already in the registry"; return; fi
  local start=$SECONDS
  if [ ! -f "$rootfs/.d8-done" ]; then
    rm -rf "$rootfs"
    if [ "$arch" = amd64 ]; then
      debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$state/debootstrap-$arch.log" 2>&1
    else
      debootstrap --arch=arm64 --foreign --variant=minbase bookworm "$rootfs" "$mirror" >"$state/debootstrap-$arch.log" 2>&1
      cp /usr/bin/qemu-aarch64-static "$rootfs/usr/bin/"
      chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$state/debootstrap-$arch.log" 2>&1
    fi
    customise "$rootfs"
    rm -f "$rootfs/usr/bin/qemu-aarch64-static"
    touch "$rootfs/.d8-done"
  fi
  # dockerd 20.10 ignores `docker import --platform`: a FROM scratch build sets the architecture.
  local ctx="$state/context-$arch"
  rm -rf "$ctx" && mkdir -p "$ctx"
  tar -C "$rootfs" --exclude=./.d8-done -cf "$ctx/rootfs.tar" .
  printf 'FROM scratch\nADD rootfs.tar /\nCMD ["/bin/sh"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q --platform "linux/$arch" -t "localhost:5000/d8-base:$arch" "$ctx" >/dev/null
  docker push -q "localhost:5000/d8-base:$arch" >/dev/null
  rm -rf "$ctx"
  echo "localhost:5000/d8-base:$arch built and pushed in $((SECONDS - start)) s"
}

build amd64
build arm64

# One multi-arch index, so a single ContainerBaseImage serves every runtime identifier (as the real base images do).
if ! curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' http://127.0.0.1:5000/v2/d8-base/manifests/bookworm 2>/dev/null; then
  docker manifest rm localhost:5000/d8-base:bookworm >/dev/null 2>&1 || true
  docker manifest create --insecure localhost:5000/d8-base:bookworm localhost:5000/d8-base:amd64 localhost:5000/d8-base:arm64 >/dev/null
  docker manifest push --insecure --purge localhost:5000/d8-base:bookworm >/dev/null
fi
echo "localhost:5000/d8-base:bookworm: multi-arch index (amd64, arm64)"
