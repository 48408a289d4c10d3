#!/bin/sh
# Container entrypoint: fills infra/kafka/server.properties from the environment, formats storage on
# first start, and runs the broker in the foreground.
#   KAFKA_PORT        broker port, inside and published (default 9092)
#   KAFKA_ADVERTISED  host name clients use (default localhost)
#   KAFKA_SECURITY    on: append security.properties (SASL_SSL, ACLs); the stack copies
#                     server-keystore.pem, ca.pem and admin-password into /opt/kafka/security first
set -eu
port=${KAFKA_PORT:-9092}
advertised=${KAFKA_ADVERTISED:-localhost}
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
sed -e "s|\${CONTROLLER_HOST}|127.0.0.1|g" -e "s|\${CONTROLLER_PORT}|9093|g" \
    -e "s|\${LISTEN_HOST}|0.0.0.0|g" -e "s|\${BROKER_PORT}|$port|g" \
    -e "s|\${ADVERTISED_HOST}|$advertised|g" -e "s|\${DATA_DIR}|$data|g" \
    -e "s|\${ADMIN_USER}|$admin_user|g" -e "s|\${ADMIN_PASSWORD}|$admin_password|g" \
    -e "s|\${TLS_KEYSTORE}|$sec/server-keystore.pem|g" -e "s|\${TLS_CA}|$sec/ca.pem|g" \
    "$template" > /opt/kafka/config/server.properties
cp="/opt/kafka/libs/*"
opts="-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml"
if [ ! -f "$data/meta.properties" ]; then
  id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  if [ -n "$scram" ]; then
    java $opts -cp "$cp" kafka.tools.StorageTool format --standalone -t "$id" \
      -c /opt/kafka/config/server.properties --add-scram "$scram"
  else
    java $opts -cp "$cp" kafka.tools.StorageTool format --standalone -t "$id" -c /opt/kafka/config/server.properties
  fi
fi
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} $opts -cp "$cp" kafka.Kafka /opt/kafka/config/server.properties
