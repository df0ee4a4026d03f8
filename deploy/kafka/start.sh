#!/bin/sh
# Kafka (KRaft, one node) for gaitstream, secured: run by compose's kafka service in the
# apache/kafka image instead of its own start script. The same settings as the local stack
# (gaitstream/stack/kafka.py, security_properties; a test compares the two).
#
#   /tls/broker-keystore.pem, /tls/ca.crt   made by the kafka-tls service (gaitstream access tls-init)
#   /run/secrets/kafka_admin_password       the admin's password (also the broker's own SASL login)
#   KAFKA_STATIONS_HOST, KAFKA_STATIONS_PORT where stations on the clinic LAN reach the broker
#   KAFKA_CLUSTER_ID, KAFKA_NUM_PARTITIONS
#
# Listeners: INTERNAL (compose network, kafka:9092) and STATIONS (published for the clinic LAN)
# are SASL_SSL with SCRAM-SHA-512; CONTROLLER is on the container's loopback only, mutual TLS
# (only the broker's own certificate gets in). The first start formats the storage with the
# admin's SCRAM credential (KIP-900); every other user is created by the kafka-access service.
set -eu
: "${KAFKA_STATIONS_HOST:?}" "${KAFKA_STATIONS_PORT:?}" "${KAFKA_CLUSTER_ID:?}"
admin_password=$(cat /run/secrets/kafka_admin_password)
[ -n "$admin_password" ] || { echo "kafka-start: /run/secrets/kafka_admin_password is empty" >&2; exit 1; }
# /tmp is the container's tmpfs (the root file system is read-only): nothing secret on a volume.
mkdir -p /tmp/kafka
config=/tmp/kafka/server.properties
umask 077
# The healthcheck's client (kafka-broker-api-versions.sh --command-config): the admin over SASL_SSL.
cat > /tmp/kafka/admin-client.properties <<CLIENT
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${admin_password}";
ssl.truststore.type=PEM
ssl.truststore.location=/tls/ca.crt
CLIENT
cat > "$config" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=CLIENTS://:9092,STATIONS://:9094,CONTROLLER://localhost:9093
advertised.listeners=CLIENTS://kafka:9092,STATIONS://${KAFKA_STATIONS_HOST}:${KAFKA_STATIONS_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENTS
listener.security.protocol.map=CLIENTS:SASL_SSL,STATIONS:SASL_SSL,CONTROLLER:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.clients.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${admin_password}";
listener.name.stations.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=/tls/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=/tls/ca.crt
ssl.endpoint.identification.algorithm=https
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:CN=gaitstream-broker
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
connections.max.reauth.ms=60000
log.dirs=/var/lib/kafka/data
num.partitions=${KAFKA_NUM_PARTITIONS:-12}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format -t "$KAFKA_CLUSTER_ID" -c "$config" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${admin_password}]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
