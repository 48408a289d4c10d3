#!/usr/bin/env bash
# Builds Tributary's stack images locally, with no image registry: a Debian trixie base with Java 21
# made by debootstrap and `docker import`, then Kafka and Apicurio on top from the Maven cache.
# Idempotent: an image that exists is kept (FORCE=1 rebuilds). Needs root, debootstrap and a Docker
# engine. Users with Docker Hub access can skip all this: TRIBUTARY_IMAGES=official.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
read_pom() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" infra/maven/pom.xml | head -n 1; }
kafka_version=$(read_pom kafka.version)
apicurio_version=$(read_pom apicurio.version)
base=tributary/jre21:trixie
kafka_image=tributary/kafka:$kafka_version
registry_image=tributary/apicurio-registry:$apicurio_version
cache=${TRIBUTARY_CACHE_DIR:-$root/.cache/stack}
work=$root/.cache/docker
mkdir -p "$work"

have() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" > /dev/null 2>&1; }
# Rebuilt whenever the broker's configuration changes (the tag names only the Kafka version).
kafka_config=$(cat infra/kafka/server.properties infra/kafka/security.properties infra/kafka/log4j2.yaml infra/kafka/entrypoint.sh infra/docker/Dockerfile.kafka | sha256sum | cut -c1-16)
kafka_current() { [ "${FORCE:-0}" != 1 ] && [ "$(docker image inspect -f '{{index .Config.Labels "dev.tributary.config"}}' "$kafka_image" 2> /dev/null)" = "$kafka_config" ]; }
say() { printf '{"component":"build-images","event":"%s","image":"%s"}\n' "$1" "$2"; }

if ! have "$base"; then
  say building "$base"
  rootfs=$work/rootfs-trixie
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=openjdk-21-jre-headless,curl,ca-certificates \
    trixie "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log"; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' - "$base" > /dev/null
  rm -rf "$rootfs"
fi
say ready "$base"

if ! have "$kafka_image" || ! have "$registry_image" || ! kafka_current; then
  npx --no-install tsx --conditions=tributary-source cli/main.ts stack --fetch-only > /dev/null
fi

if ! kafka_current; then
  say building "$kafka_image"
  ctx=$work/ctx-kafka
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$cache/kafka-$kafka_version/libs" "$ctx/libs"
  cp infra/kafka/server.properties infra/kafka/security.properties infra/kafka/log4j2.yaml infra/kafka/entrypoint.sh "$ctx/"
  docker build -q --build-arg "BASE_IMAGE=$base" --label "dev.tributary.config=$kafka_config" -f infra/docker/Dockerfile.kafka -t "$kafka_image" "$ctx" > /dev/null
  rm -rf "$ctx"
fi
say ready "$kafka_image"

if ! have "$registry_image"; then
  say building "$registry_image"
  ctx=$work/ctx-registry
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$cache/apicurio-$apicurio_version" "$ctx/apicurio"
  rm -f "$ctx/apicurio/.complete"
  docker build -q --build-arg "BASE_IMAGE=$base" -f infra/docker/Dockerfile.registry -t "$registry_image" "$ctx" > /dev/null
  rm -rf "$ctx"
fi
say ready "$registry_image"
