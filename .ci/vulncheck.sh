#!/usr/bin/env bash
# Known-vulnerability check with govulncheck. vuln.go.dev cannot be reached
# from these machines, but the Go module proxy serves the database's source,
# the golang.org/x/vulndb module (its data/osv folder): fetch its newest
# version, turn it into govulncheck's local database layout
# (.ci/vulndb/main.go) and scan. Fails on any vulnerability the code calls.
set -euo pipefail
cd "$(dirname "$0")/.."
dbver="${VULNDB_VERSION:-latest}"
dir=$(go mod download -json "golang.org/x/vulndb@${dbver}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$dir/data/osv" ] || { echo "FATAL: could not fetch golang.org/x/vulndb@${dbver} from the module proxy" >&2; exit 1; }
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
go run .ci/vulndb/main.go -osv "$dir/data/osv" -out "$db"
echo "vulndb: golang.org/x/vulndb@$(basename "$dir" | sed 's/.*@//'); toolchain $(go env GOVERSION)"
go run golang.org/x/vuln/cmd/govulncheck@v1.9.0 -db "file://$db" ./...
