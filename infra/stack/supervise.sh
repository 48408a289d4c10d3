#!/usr/bin/env bash
# Runs a stack process so that it can never outlive the Node process that asked for it.
#   supervise.sh PARENT_PID -- command [args...]
# The command runs as a child; when PARENT_PID disappears (even through SIGKILL, where Node gets no
# chance to clean up) or this script receives TERM/INT, the command gets SIGTERM, then SIGKILL after
# a grace period. The script exits with the command's status.
set -u
parent=$1
shift 2
"$@" &
child=$!
stop_child() {
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 1 100); do
    kill -0 "$child" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$child" 2>/dev/null
}
trap 'stop_child; wait "$child"; exit 143' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then
    stop_child
    break
  fi
  sleep 0.5 &
  wait $!
done
wait "$child"
