#!/usr/bin/env bash
# librdkafka for what workers send (lib/kafka/librdkafka.ts): @confluentinc/kafka-javascript built
# from the librdkafka source its npm package carries, linked against the system's zlib, OpenSSL,
# zstd, lz4, Cyrus SASL and curl. (Its default build links them statically from sources it
# downloads, which fails where only package registries are reachable.) One step, idempotent:
#   1. ready when the addon in .cache/kafka-native loads;
#   2. else a machine-wide copy of an earlier build ($TRIBUTARY_NATIVE_CACHE, default
#      ~/.cache/tributary) is unpacked there: other clones skip the build (about 80-120 s on 2 cores);
#   3. else Debian's -dev packages are installed (as root) and the package is built.
# It lives in .cache/kafka-native, not node_modules, so `npm ci` keeps it; the loader looks there.
# Where it cannot be built (no compiler, no root for the -dev packages), this says so and workers
# send through kafkajs; under CI (CI=true) that is a failure, so the tests never skip it unseen.
# Env: TRIBUTARY_SKIP_NATIVE=1 or TRIBUTARY_SKIP_KAFKA_NATIVE=1 skips it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=1.10.1
dir=$root/.cache/kafka-native
pkg=$dir/node_modules/@confluentinc/kafka-javascript
abi=$(node -p process.versions.modules)
copy=${TRIBUTARY_NATIVE_CACHE:-$HOME/.cache/tributary}/kafka-javascript-$version-node$abi-$(uname -m).tar.gz
log=$root/.cache/kafka-native-install.log
say() { printf '{"component":"ensure-kafka-native","event":"%s"%s}\n' "$1" "${2:+,\"detail\":\"$2\"}"; }
unavailable() {
  say unavailable "$1; workers send through kafkajs"
  if [ "${CI:-}" = true ]; then exit 1; fi
  exit 0
}

if [ "${TRIBUTARY_SKIP_NATIVE:-0}" = 1 ] || [ "${TRIBUTARY_SKIP_KAFKA_NATIVE:-0}" = 1 ]; then
  say skipped "TRIBUTARY_SKIP_NATIVE or TRIBUTARY_SKIP_KAFKA_NATIVE"
  exit 0
fi
loads() {
  (cd "$dir" && node -e "const k=require('@confluentinc/kafka-javascript'); if (require('@confluentinc/kafka-javascript/package.json').version!=='$version' || !k.librdkafkaVersion) process.exit(1)") > /dev/null 2>&1
}
[ -d "$pkg" ] && loads && { say ready "librdkafka loads from .cache/kafka-native"; exit 0; }

mkdir -p "$root/.cache"
if [ -f "$copy" ]; then
  rm -rf "$dir" && mkdir -p "$dir" && tar -xzf "$copy" -C "$dir"
  loads && { say ready "unpacked from $copy"; exit 0; }
  say stale-copy "$copy does not load here; building"
fi

# librdkafka's configure finds these by pkg-config; the runtime libraries come with them.
needed=(zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev)
missing=()
for p in "${needed[@]}"; do dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    say installing "${missing[*]}"
    { apt-get install -y -qq "${missing[@]}" || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }; } > "$log" 2>&1 \
      || unavailable "apt-get could not install ${missing[*]} (see $log)"
  else
    unavailable "missing ${missing[*]} and not root on Debian to install them"
  fi
fi
command -v g++ > /dev/null && command -v make > /dev/null || unavailable "no g++ or make"

say building "@confluentinc/kafka-javascript@$version against the system's libraries"
started=$(date +%s)
rm -rf "$dir" && mkdir -p "$dir"
echo '{ "name": "tributary-kafka-native", "private": true }' > "$dir/package.json"
(cd "$dir" && CKJS_LINKING=dynamic npm install --no-audit --no-fund --foreground-scripts \
  "@confluentinc/kafka-javascript@$version") > "$log" 2>&1 \
  || { tail -n 20 "$log"; unavailable "the build failed (see $log)"; }
# What it loads at run time is the addon and build/deps/*.so*: the sources and objects go.
rm -rf "$pkg/deps/librdkafka" "$pkg/build/Release/obj.target" "$pkg/build/deps/librdkafka" \
  "$pkg"/build/deps/*.a
loads || unavailable "the built addon does not load (see $log)"
say ready "built in $(($(date +%s) - started)) s"
mkdir -p "$(dirname "$copy")"
tar -czf "$copy.tmp" -C "$dir" . && mv "$copy.tmp" "$copy"
