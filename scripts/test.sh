#!/usr/bin/env bash
# `npm test`: builds, starts PostgreSQL and nats-server on loopback for the connector tests (unless
# their URLs are already set, or WEIR_SKIP_SERVICES=1), runs every test file, stops the servers.
set -euo pipefail
cd "$(dirname "$0")/.."

rm -rf dist
npm run build --silent
# Query logs stay out of the test output unless asked for; tests that check logs set their own level.
export WEIR_LOG_LEVEL="${WEIR_LOG_LEVEL:-silent}"
# The web UI's browser tests need Chromium: installed here when missing, and they fail (not skip) without it.
bash scripts/chromium.sh

if [ -z "${WEIR_TEST_PG_URL:-}" ] && [ "${WEIR_SKIP_SERVICES:-}" != "1" ]; then
  bash scripts/services.sh start
  trap 'bash scripts/services.sh stop' EXIT
  eval "$(bash scripts/services.sh env)"
fi

# Tests that stop and restart servers of the shared NATS cluster run on their own afterwards, so that no
# other test meets a server that is down (it would see its streams offline and fail for the wrong reason).
ALONE=dist/test/connectors/nats-checkpoint.test.js
status=0
node --test --test-concurrency=2 $(find dist/test -name '*.test.js' | grep -v -x -F "$ALONE" | sort) || status=$?
node --test "$ALONE" || status=$?
# The stateful suites once more on the lmdb state store (their queries take it from WEIR_TEST_STATE_STORE;
# the crash and state store tests run both providers themselves).
STATEFUL="api/aggregation api/dedup api/stream-join api/restart api/state-keys api/spark-aggregates api/triggers
  api/explain api/generators sql/sql engine/micro-batch"
WEIR_TEST_STATE_STORE=lmdb node --test --test-concurrency=2 $(for t in $STATEFUL; do echo "dist/test/$t.test.js"; done) || status=$?
exit "$status"
