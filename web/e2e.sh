#!/usr/bin/env bash
# e2e.sh runs the web pages' end-to-end tests in headless Chromium:
# it installs Debian's chromium when missing, builds the pages
# (build.sh) and hubd, starts `hubd -demo` on a free port with a temporary
# data folder, and a second hubd with an empty store and a basemap from an
# MBTiles file of generated tiles (web/basemap/cmd/mkmbtiles) in GCJ-02,
# runs web/e2e/*.test.mjs with Node's test runner, saves a screenshot of
# each step into web/e2e/screenshots/, and stops both.
#
# Usage: web/e2e.sh [e2e/x.test.mjs ...]   (all: about 1-2 minutes on 2 cores)
# Env:   CHROMIUM=/path        another Chromium binary
#        E2E_KEEP=1            keep the data folder and hubd's logs
set -euo pipefail
web=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$web/.." && pwd)

if ! command -v "${CHROMIUM:-chromium}" >/dev/null; then
	echo "e2e: installing chromium (Debian package)" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# A CJK font, so that the screenshots show the Chinese text (optional).
if command -v fc-list >/dev/null && ! fc-list :lang=zh | grep -q .; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || echo "e2e: no CJK font; screenshots show boxes for Chinese" >&2
fi
export CHROMIUM=${CHROMIUM:-$(command -v chromium)}

"$web/build.sh"

tmp=$(mktemp -d)
(cd "$root" && go build -o "$tmp/hubd" ./cmd/hubd && go build -o "$tmp/mkmbtiles" ./web/basemap/cmd/mkmbtiles)
freeport() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(freeport)
port2=$(freeport)
while [ "$port2" = "$port" ]; do port2=$(freeport); done

# -log-level info: the demo's log sender writes each SMS's text at INFO,
# where the invitation and answer link tests read their links (HUB_LOG).
"$tmp/hubd" -demo -data "$tmp/data" -addr "127.0.0.1:$port" -log-level info >"$tmp/hubd.out" 2>"$tmp/hubd.err" &
pid=$!
pid2=
cleanup() {
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	if [ -n "$pid2" ]; then kill "$pid2" 2>/dev/null && wait "$pid2" 2>/dev/null || true; fi
	if [ -n "${E2E_KEEP:-}" ]; then echo "e2e: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# The second hub: an empty store (the tests make its one village) and the
# generated MBTiles basemap, declared GCJ-02 so that the pages shift.
"$tmp/mkmbtiles" -o "$tmp/county.mbtiles" 2>/dev/null
HUB2_ADMIN_TOKEN=e2e-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
"$tmp/hubd" -data "$tmp/data2" -addr "127.0.0.1:$port2" -admin-token "$HUB2_ADMIN_TOKEN" -log-level warn \
	-map-mbtiles "$tmp/county.mbtiles" -map-crs gcj02 >"$tmp/hubd2.out" 2>"$tmp/hubd2.err" &
pid2=$!

for _ in $(seq 1 120); do
	if grep -q 'resident .*token:' "$tmp/hubd.out" 2>/dev/null && curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
		break
	fi
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/hubd.err" >&2; echo "e2e: hubd exited" >&2; exit 1; }
	sleep 0.5
done
for _ in $(seq 1 120); do
	curl -fsS "http://127.0.0.1:$port2/healthz" >/dev/null 2>&1 && break
	kill -0 "$pid2" 2>/dev/null || { cat "$tmp/hubd2.err" >&2; echo "e2e: the second hubd exited" >&2; exit 1; }
	sleep 0.5
done
HUB_CMD_TOKEN=$(grep -oP 'commander .*token: \K\S+' "$tmp/hubd.out" | head -1)
HUB_RES_TOKEN=$(grep -oP 'resident .*token: \K\S+' "$tmp/hubd.out" | head -1)
[ -n "$HUB_CMD_TOKEN" ] || { echo "e2e: hubd printed no commander token" >&2; cat "$tmp/hubd.out" >&2; exit 1; }
# Read the page whole first: grep -q stops at the first match, and under
# pipefail the SIGPIPE it leaves curl with would fail the check.
if ! curl -fsS "http://127.0.0.1:$port/" -o "$tmp/index.html" || ! grep -q '/assets/' "$tmp/index.html"; then
	echo "e2e: hubd does not serve the built pages at / (is web.Handler mounted?)" >&2
	exit 1
fi
export HUB_URL="http://127.0.0.1:$port" HUB_CMD_TOKEN HUB_RES_TOKEN HUB_LOG="$tmp/hubd.err"
export HUB2_URL="http://127.0.0.1:$port2" HUB2_ADMIN_TOKEN

rm -rf "$web/e2e/screenshots"
cd "$web"
if [ $# -eq 0 ]; then set -- e2e/*.test.mjs; fi
timeout 300 node --test --test-concurrency=1 --test-reporter=spec "$@"
echo "e2e: screenshots in $web/e2e/screenshots" >&2
