#!/bin/sh
# InfluxDB 2.x set-up for gaitstream, idempotent. Run by compose's influxdb-init service (in the
# influxdb image) and by the local stack (`gaitstream stack up`), so the tests run what clinics get.
# Needs only sh, curl, sed and tr; talks to the v2 HTTP API (what the influx CLI calls).
#
#   INFLUX_HOST, INFLUX_TOKEN (operator), INFLUX_ORG, BUCKET       required
#   ADMIN_USER, ADMIN_PASSWORD, RETENTION_S                        first start without compose's
#                                                                  setup mode only (onboarding)
#   GRAFANA_USER, GRAFANA_PASSWORD                                 Grafana's read-only v1 login
#   SINK_TOKEN_FILE                                                where the sink's write-only token goes
#   REPORT_TOKEN_FILE                                              where the reports' read-only token goes
#
# 1. onboarding when the server has never been set up (compose's image did it already);
# 2. the DBRP mapping that lets InfluxQL read the bucket as database "$BUCKET" (policy autogen);
# 3. Grafana's v1 authorization: read the bucket only; its password reset to GRAFANA_PASSWORD;
# 4. the pipeline sink's token: write the bucket, nothing else (no read, no other bucket). InfluxDB
#    chooses a token's value, so it is written to SINK_TOKEN_FILE (a volume only this service and
#    the pipeline workers mount); kept while its authorization exists, created again otherwise;
# 5. the session reports' token the same way: read the bucket, nothing else.
set -eu
: "${INFLUX_HOST:?}" "${INFLUX_TOKEN:?}" "${INFLUX_ORG:?}" "${BUCKET:?}"

api() { # method path [json body]: prints the answer's body with whitespace removed; fails on >= 400
  out=$(curl -sS -X "$1" -H "Authorization: Token $INFLUX_TOKEN" -H "Content-Type: application/json" \
    ${3:+--data "$3"} -w '\n%{http_code}' "$INFLUX_HOST$2")
  code=$(printf '%s' "$out" | tail -n 1)
  body=$(printf '%s' "$out" | sed '$d' | tr -d ' \t\n\r')
  case "$code" in
    2??) printf '%s' "$body" ;;
    *) echo "influxdb-init: $1 $2 -> HTTP $code: $body" >&2; return 1 ;;
  esac
}
auth_of() { # v1 user: the id of its authorization, from a (compacted) list or single answer
  sed 's/{"id":"/\n/g' | sed -n "s/^\([0-9a-f]*\)\",\"token\":\"$1\".*/\1/p" | head -n 1
}
json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

i=0
until curl -sf "$INFLUX_HOST/health" >/dev/null; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "influxdb-init: $INFLUX_HOST not healthy" >&2; exit 1; }
  sleep 1
done

if curl -sf "$INFLUX_HOST/api/v2/setup" | tr -d ' \t\n' | grep -q '"allowed":true'; then
  : "${ADMIN_USER:?}" "${ADMIN_PASSWORD:?}"
  api POST /api/v2/setup "{\"username\":\"$(json_escape "$ADMIN_USER")\",\"password\":\"$(json_escape "$ADMIN_PASSWORD")\",\
\"org\":\"$(json_escape "$INFLUX_ORG")\",\"bucket\":\"$(json_escape "$BUCKET")\",\"token\":\"$(json_escape "$INFLUX_TOKEN")\",\
\"retentionPeriodSeconds\":${RETENTION_S:-0}}" >/dev/null
  echo "influxdb-init: onboarded org $INFLUX_ORG, bucket $BUCKET"
fi

buckets=$(api GET "/api/v2/buckets?org=$INFLUX_ORG&name=$BUCKET")
bucket_id=$(printf '%s' "$buckets" | sed -n 's/.*"buckets":\[{"id":"\([0-9a-f]*\)".*/\1/p')
org_id=$(printf '%s' "$buckets" | sed -n 's/.*"buckets":\[{[^]]*"orgID":"\([0-9a-f]*\)".*/\1/p')
[ -n "$bucket_id" ] && [ -n "$org_id" ] || { echo "influxdb-init: bucket $BUCKET not found in $INFLUX_ORG" >&2; exit 1; }

# InfluxDB 2.7 maps every bucket virtually; a stored mapping keeps working if the bucket is renamed.
if ! api GET "/api/v2/dbrps?orgID=$org_id&db=$BUCKET" | grep -q '"virtual":false'; then
  api POST /api/v2/dbrps "{\"orgID\":\"$org_id\",\"bucketID\":\"$bucket_id\",\"database\":\"$(json_escape "$BUCKET")\",\
\"retention_policy\":\"autogen\",\"default\":true}" >/dev/null
  echo "influxdb-init: DBRP $BUCKET/autogen -> bucket $bucket_id"
fi

if [ -n "${GRAFANA_USER:-}" ]; then
  : "${GRAFANA_PASSWORD:?}"
  auths=$(api GET "/private/legacy/authorizations?orgID=$org_id")
  # each authorization object starts with its id; find the one whose token (v1 user) is ours
  auth_id=$(printf '%s' "$auths" | auth_of "$GRAFANA_USER")
  if [ -z "$auth_id" ]; then
    created=$(api POST /private/legacy/authorizations "{\"orgID\":\"$org_id\",\"token\":\"$(json_escape "$GRAFANA_USER")\",\
\"description\":\"grafana read-only (gaitstream)\",\"permissions\":[{\"action\":\"read\",\"resource\":{\"type\":\"buckets\",\
\"id\":\"$bucket_id\",\"orgID\":\"$org_id\"}}]}")
    auth_id=$(printf '%s' "$created" | auth_of "$GRAFANA_USER")
    echo "influxdb-init: v1 user $GRAFANA_USER created (read $BUCKET)"
  fi
  api POST "/private/legacy/authorizations/$auth_id/password" "{\"password\":\"$(json_escape "$GRAFANA_PASSWORD")\"}" >/dev/null
fi
bucket_token() { # file description action: a token that may only <action> the bucket, kept in <file>
  auths=$(api GET "/api/v2/authorizations?orgID=$org_id")
  current=""
  [ -s "$1" ] && current=$(cat "$1")
  if [ -z "$current" ] || ! printf '%s' "$auths" | grep -q "\"token\":\"$current\""; then
    created=$(api POST /api/v2/authorizations "{\"orgID\":\"$org_id\",\"description\":\"$2\",\
\"permissions\":[{\"action\":\"$3\",\"resource\":{\"type\":\"buckets\",\"id\":\"$bucket_id\",\"orgID\":\"$org_id\"}}]}")
    token=$(printf '%s' "$created" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$token" ] || { echo "influxdb-init: no token in the authorization '$2'" >&2; exit 1; }
    (umask 022 && printf '%s' "$token" > "$1.new") && mv "$1.new" "$1"
    echo "influxdb-init: token '$2' created ($3 $BUCKET only)"
  fi
}
[ -z "${SINK_TOKEN_FILE:-}" ] || bucket_token "$SINK_TOKEN_FILE" "gaitstream sink write-only" write
[ -z "${REPORT_TOKEN_FILE:-}" ] || bucket_token "$REPORT_TOKEN_FILE" "gaitstream reports read-only" read
echo "influxdb-init: done"
