#!/usr/bin/env bash
# Makes a Docker engine answer, then builds the stack images, on a machine that may have neither.
# - An engine that already answers is used as it is.
# - Else, as root: Debian's docker.io (and debootstrap for the base image) are installed if missing,
#   and dockerd is started by hand (no init system here); its pid goes to .cache/docker/dockerd.pid so
#   whoever started it (.ci/run) can stop it.
# - Else it says why and exits 0: the stack then runs as child JVMs, and only the container-path
#   test fails, naming this script.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state=$root/.cache/docker
mkdir -p "$state"
say() { printf '{"component":"ensure-docker","event":"%s"%s}\n' "$1" "${2:+,\"detail\":\"$2\"}"; }
engine_answers() { docker version --format '{{.Server.Version}}' > /dev/null 2>&1; }

if ! engine_answers; then
  if [ "$(id -u)" != 0 ]; then
    say unavailable "no Docker engine and not root: the stack will use child JVMs"
    exit 0
  fi
  if ! command -v dockerd > /dev/null || ! command -v debootstrap > /dev/null; then
    say installing "docker.io debootstrap from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q > "$state/apt.log" 2>&1
    apt-get install -y -q docker.io debootstrap >> "$state/apt.log" 2>&1 || { tail -n 20 "$state/apt.log"; say unavailable "apt-get install failed"; exit 0; }
  fi
  # A dockerd killed outright (a session that ended) leaves pid files that stop a new one starting.
  for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2> /dev/null)" 2> /dev/null; then rm -f "$pidfile"; fi
  done
  say starting dockerd
  nohup dockerd > "$state/dockerd.log" 2>&1 &
  echo $! > "$state/dockerd.pid"
  for _ in $(seq 1 60); do engine_answers && break; sleep 0.5; done
  if ! engine_answers; then
    tail -n 20 "$state/dockerd.log"
    say unavailable "dockerd did not answer"
    exit 0
  fi
fi
say engine-ready "$(docker version --format '{{.Server.Version}}')"
command -v debootstrap > /dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -q debootstrap > "$state/apt.log" 2>&1; }
exec bash "$root/infra/docker/build-images.sh"
