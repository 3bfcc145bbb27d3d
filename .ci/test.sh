#!/usr/bin/env bash
# The project's test command (README "Run the tests"): formatting, vet, and
# every test with -race, on the embedded store and on PostgreSQL. It starts
# PostgreSQL when it is installed but not running, and fails loudly (never
# skips) when it cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and test with the toolchain go.mod names (a patched Go release,
# fetched through the module proxy when the machine's Go is older): this
# machine's Go defaults to GOTOOLCHAIN=local, which would ignore it.
export GOTOOLCHAIN=auto
echo "toolchain: $(go version)"

export HUB_TEST_POSTGRES_URL="${HUB_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ensure_postgres() {
  if pg_up; then return 0; fi
  echo "PostgreSQL is not answering on 127.0.0.1:5432; trying to start it" >&2
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  echo "FATAL: PostgreSQL is required by the tests and is not reachable on 127.0.0.1:5432." >&2
  echo "Start it with: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
  exit 1
}

ensure_postgres

# xmllint validates CAP output against the OASIS schema (api/cap tests).
if ! command -v xmllint >/dev/null; then
  echo "xmllint missing: installing Debian's libxml2-utils" >&2
  (apt-get install -y libxml2-utils >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y libxml2-utils >/dev/null; }) || true
  command -v xmllint >/dev/null || { echo "FATAL: xmllint is required (apt-get install libxml2-utils)" >&2; exit 1; }
fi

# The cluster tests start their own redis-server processes on free ports
# (a standalone one they kill and restart, and a 3-master Redis Cluster).
if ! command -v redis-server >/dev/null; then
  echo "redis-server missing: installing Debian's redis-server" >&2
  (apt-get install -y redis-server >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; }) || true
  command -v redis-server >/dev/null || { echo "FATAL: redis-server is required by the cluster tests (apt-get install redis-server)" >&2; exit 1; }
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt wants to rewrite:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== go test -race (embedded SQLite store, PostgreSQL store tests)"
go test -race -count=1 -timeout 15m ./...

echo "== go test -race ./server/ ./hub/ on the PostgreSQL store (end-to-end and core tests)"
HUB_TEST_STORE=postgres go test -race -count=1 -timeout 10m ./server/ ./hub/

echo "== known vulnerabilities (govulncheck, database from the module proxy)"
.ci/vulncheck.sh

echo "== fuzzing every decoder (FUZZTIME=${FUZZTIME:-10s} each)"
.ci/fuzz.sh

echo "== web pages: build, then browser tests in headless Chromium"
web/e2e.sh
