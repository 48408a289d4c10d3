#!/bin/sh
# Container entrypoint: fills infra/kafka/server.properties from the environment, formats storage on
# first start, and runs the broker in the foreground.
#   KAFKA_PORT        broker port, inside and published (default 9092)
#   KAFKA_ADVERTISED  host name clients use (default localhost)
set -eu
port=${KAFKA_PORT:-9092}
advertised=${KAFKA_ADVERTISED:-localhost}
data=/var/lib/kafka/data
mkdir -p "$data"
sed -e "s|\${CONTROLLER_HOST}|127.0.0.1|g" -e "s|\${CONTROLLER_PORT}|9093|g" \
    -e "s|\${LISTEN_HOST}|0.0.0.0|g" -e "s|\${BROKER_PORT}|$port|g" \
    -e "s|\${ADVERTISED_HOST}|$advertised|g" -e "s|\${DATA_DIR}|$data|g" \
    /opt/kafka/config/server.properties.template > /opt/kafka/config/server.properties
cp="/opt/kafka/libs/*"
opts="-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml"
if [ ! -f "$data/meta.properties" ]; then
  java $opts -cp "$cp" kafka.tools.StorageTool format --standalone \
    -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)" -c /opt/kafka/config/server.properties
fi
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} $opts -cp "$cp" kafka.Kafka /opt/kafka/config/server.properties
