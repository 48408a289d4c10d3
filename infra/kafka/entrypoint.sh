#!/bin/sh
# Container entrypoint: fills infra/kafka/server.properties from the environment, formats storage on
# first start, and runs the broker in the foreground.
#   KAFKA_PORT        broker port, inside and published (default 9092)
#   KAFKA_ADVERTISED  host name clients use (default localhost)
#   KAFKA_SECURITY    on: append security.properties (SASL_SSL, ACLs); the stack copies
#                     server-keystore.pem, ca.pem and admin-password into /opt/kafka/security first
# A node of a cluster (three containers on the host's network, infra/stack/containers.ts):
#   KAFKA_NODE_ID, KAFKA_CONTROLLER_PORT, KAFKA_LISTEN_HOST (127.0.0.1 on the host's network),
#   KAFKA_QUORUM_VOTERS (a static quorum, 1@127.0.0.1:p1,2@...), KAFKA_CLUSTER_ID (the same on
#   every node), KAFKA_REPLICAS (replication factor; min.insync.replicas is one less)
set -eu
port=${KAFKA_PORT:-9092}
advertised=${KAFKA_ADVERTISED:-localhost}
listen=${KAFKA_LISTEN_HOST:-0.0.0.0}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}
voters=${KAFKA_QUORUM_VOTERS:-}
data=/var/lib/kafka/data
sec=/opt/kafka/security
mkdir -p "$data"
template=/opt/kafka/config/server.properties.template
scram=""
admin_user=tributary-admin
admin_password=""
if [ "${KAFKA_SECURITY:-off}" = on ]; then
  admin_password=$(cat "$sec/admin-password")
  cat "$template" /opt/kafka/config/security.properties.template > /tmp/server.properties.template
  template=/tmp/server.properties.template
  scram="SCRAM-SHA-512=[name=$admin_user,password=$admin_password]"
fi
umask 077
config=/opt/kafka/config/server.properties
sed -e "s|\${CONTROLLER_HOST}|127.0.0.1|g" -e "s|\${CONTROLLER_PORT}|$controller_port|g" \
    -e "s|\${LISTEN_HOST}|$listen|g" -e "s|\${BROKER_PORT}|$port|g" \
    -e "s|\${ADVERTISED_HOST}|$advertised|g" -e "s|\${DATA_DIR}|$data|g" \
    -e "s|\${ADMIN_USER}|$admin_user|g" -e "s|\${ADMIN_PASSWORD}|$admin_password|g" \
    -e "s|\${TLS_KEYSTORE}|$sec/server-keystore.pem|g" -e "s|\${TLS_CA}|$sec/ca.pem|g" \
    "$template" > "$config"
standalone=--standalone
if [ -n "$voters" ]; then
  # A static quorum instead of the template's single dynamic voter (the last value of a key wins).
  replicas=${KAFKA_REPLICAS:-3}
  min_isr=$((replicas > 1 ? replicas - 1 : 1))
  sed -i -e '/^controller\.quorum\.bootstrap\.servers=/d' "$config"
  {
    echo "node.id=${KAFKA_NODE_ID:-1}"
    echo "controller.quorum.voters=$voters"
    for key in offsets.topic.replication.factor transaction.state.log.replication.factor \
      share.coordinator.state.topic.replication.factor default.replication.factor; do
      echo "$key=$replicas"
    done
    for key in transaction.state.log.min.isr share.coordinator.state.topic.min.isr min.insync.replicas; do
      echo "$key=$min_isr"
    done
  } >> "$config"
  standalone=""
fi
cp="/opt/kafka/libs/*"
opts="-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml"
if [ ! -f "$data/meta.properties" ]; then
  id=${KAFKA_CLUSTER_ID:-$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)}
  if [ -n "$scram" ]; then
    java $opts -cp "$cp" kafka.tools.StorageTool format $standalone -t "$id" -c "$config" --add-scram "$scram"
  else
    java $opts -cp "$cp" kafka.tools.StorageTool format $standalone -t "$id" -c "$config"
  fi
fi
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} $opts -cp "$cp" kafka.Kafka "$config"
