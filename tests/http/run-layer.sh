#!/bin/sh
# run-layer.sh — run the HTTP layer's data-driven cases (tests/http/layer/)
# against http_demo over real TLS on loopback.  Builds nothing.
#
# Usage: tests/http/run-layer.sh PATH/TO/http_demo
# Prints the harness's TAP lines plus two checks of its own (the demo exits
# cleanly under the sanitizers; the access log has lines and no query
# secret) and ends with one "N passed, N failed" line counting all of them;
# exit 1 on any failure.
set -u
demo=${1:?usage: run-layer.sh PATH/TO/http_demo}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sf-run-layer.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir "$work/logs"
"$demo" --log-dir "$work/logs" >"$work/ports" 2>"$work/stderr" &
pid=$!
i=0
while ! grep -q '^https_port=' "$work/ports" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "# http_demo did not start:"
		sed 's/^/# /' "$work/stderr"
		echo "0 passed, 1 failed"
		exit 1
	fi
	sleep 0.1
done
https_port=$(sed -n 's/^https_port=\([0-9]*\) .*/\1/p' "$work/ports")
http_port=$(sed -n 's/.* http_port=\([0-9]*\)$/\1/p' "$work/ports")

python3 "$here/harness.py" --host 127.0.0.1 --port "$https_port" --http-port "$http_port" --tls \
	"$here"/layer/*.http | tee "$work/harness.out" | grep -v ' passed, .* failed$\|^1\.\.[0-9]*$'
rc=0
grep -q '^[0-9]* passed, 0 failed$' "$work/harness.out" || rc=1
extra_fail=0
# The two checks below go on from the harness's numbers: a TAP reader (and
# tests/run_all.py) counts only numbered "ok N" / "not ok N" lines.
n=$(grep -c '^\(not \)\?ok [0-9]' "$work/harness.out")

# Stop the demo: it must exit cleanly (no sanitizer report, no leak).
kill -TERM "$pid" 2>/dev/null
wait "$pid"
demo_rc=$?
pid=
if [ "$demo_rc" -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$work/stderr"; then
	echo "not ok $((n + 1)) - http_demo exits cleanly (exit $demo_rc)"
	sed 's/^/# /' "$work/stderr" | head -40
	extra_fail=$((extra_fail + 1))
else
	echo "ok $((n + 1)) - http_demo exits cleanly"
fi

# The access log: one JSON line per request, the query redacted by key.
log="$work/logs/access.log"
if grep -q '"request_id":"[a-z2-7]\{26\}".*"status":' "$log" 2>/dev/null &&
	grep -q '"user_agent":"harness"' "$log" && ! grep -q 'SECRET-TOKEN-VALUE-123' "$log"; then
	echo "ok $((n + 2)) - access.log has request lines and no secret from a query"
else
	echo "not ok $((n + 2)) - access.log has request lines and no secret from a query"
	grep 'harness' "$log" 2>/dev/null | sed 's/^/# /' | head -5
	extra_fail=$((extra_fail + 1))
fi

# The harness printed its count; fold the two extra checks into a final one.
passed=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$work/harness.out" | tail -1)
failed=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$work/harness.out" | tail -1)
passed=$(( ${passed:-0} + 2 - extra_fail ))
failed=$(( ${failed:-1} + extra_fail ))
echo "1..$((n + 2))"
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$extra_fail" -eq 0 ]
