#!/usr/bin/env bash
# Runs every fuzz target of the project (every `func FuzzX` in a _test.go
# file) for a bounded time each: FUZZTIME (default 10s). A crash found is
# written to the package's testdata/fuzz/ and fails the run; commit it as a
# regression input after fixing the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10s}"
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when a duration -fuzztime ends while a worker is busy, with no
# crasher (golang/go#75804, fixed in Go 1.27). The fuzzing runs on the
# approved Go 1.27.3 toolchain (from the module proxy) so that a red fuzz
# step always means a crasher; the rest of CI stays on go.mod's toolchain.
export GOTOOLCHAIN="${FUZZ_GOTOOLCHAIN:-go1.27.3}"
go version
targets=$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | sort)
n=0
for file in $targets; do
  pkg="./$(dirname "${file#./}")"
  for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do
    echo "== fuzz $pkg $fn ($fuzztime)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg"
    n=$((n + 1))
  done
done
[ "$n" -gt 0 ] || { echo "FATAL: no fuzz targets found" >&2; exit 1; }
echo "fuzzed $n targets for $fuzztime each"
