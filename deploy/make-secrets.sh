#!/bin/sh
# Creates the secret files docker-compose.yml mounts (./secrets/<name>), each a random value, and
# keeps those that exist. The directory is the operator's only (700); the files are readable by
# the containers' users (compose bind-mounts each file by itself, so the directory guards them).
set -eu
cd "$(dirname "$0")/.."
umask 077
mkdir -p secrets
chmod 700 secrets
for name in kafka_admin_password kafka_pipeline_password kafka_sink_password kafka_dispatcher_password \
  kafka_simulator_password kafka_feedback_password kafka_report_password station_signing_secret feedback_secret \
  privacy_audit_key; do
  file="secrets/$name"
  if [ ! -s "$file" ]; then
    # 32 random bytes as 64 hex digits: a password, the stations' signing secret or the screens' secret.
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$file"
    chmod 644 "$file"
    echo "created $file"
  fi
done
