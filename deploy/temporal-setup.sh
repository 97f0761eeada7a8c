#!/bin/sh
# One-shot set-up of the compose Temporal: waits for the server, creates the namespace and the account search
# attributes (idempotent; the same as `npm run temporal:setup`).
set -eu
ADDR="${TEMPORAL_ADDRESS:-temporal:7233}"
NS="${DEFAULT_NAMESPACE:-default}"
until temporal operator cluster health --address "$ADDR" >/dev/null 2>&1; do sleep 1; done
temporal operator namespace describe --address "$ADDR" -n "$NS" >/dev/null 2>&1 ||
  temporal operator namespace create --address "$ADDR" -n "$NS" --retention 72h
for sa in AccountStatus AccountRecovery AccountProvider AccountUserId; do
  temporal operator search-attribute create --address "$ADDR" -n "$NS" --name "$sa" --type Keyword >/dev/null 2>&1 || true
done
# The providers now in incident, on the provider-incidents workflow.
temporal operator search-attribute create --address "$ADDR" -n "$NS" --name ProviderIncidents --type KeywordList >/dev/null 2>&1 || true
echo "Temporal namespace $NS ready with account search attributes"
