#!/usr/bin/env bash
# The two binaries (src/cli/companion.h): `kinglet` runs models without loading the network and
# database libraries, and hands serve, eval and cost to `kinglet-serve` beside it, transparently.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}"
companion="$(dirname "$KINGLET")/kinglet-serve"
dir=$(mktemp -d /tmp/kinglet-binaries-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# What the dynamic loader maps for each binary (ldd lists the whole dependency tree).
ldd "$KINGLET" >"$dir/engine.ldd"
ldd "$companion" >"$dir/serve.ldd"
for lib in libcpp-httplib libssl libcrypto libcurl libpq libgnutls libgssapi_krb5 libldap; do
  if grep -q "$lib" "$dir/engine.ldd"; then fail "kinglet loads $lib: $(grep "$lib" "$dir/engine.ldd")"; fi
done
for lib in libcpp-httplib libcurl libpq; do
  grep -q "$lib" "$dir/serve.ldd" || fail "kinglet-serve does not link $lib (is this the right binary?)"
done

# Help lists every command; a companion command's help is its own (options from kinglet-serve).
"$KINGLET" --help >"$dir/help.txt"
for cmd in run bench serve eval cost; do grep -qE "^ +$cmd " "$dir/help.txt" || fail "kinglet --help lacks $cmd"; done
"$KINGLET" serve --help >"$dir/serve-help.txt"
grep -q -- "--parallel" "$dir/serve-help.txt" || fail "kinglet serve --help does not show serve's options"
grep -q -- "--ledger" "$dir/serve-help.txt" || fail "kinglet serve --help does not show serve's options"

# Arguments and exit status pass through unchanged: a bad option is CLI11's error from kinglet-serve.
set +e
"$KINGLET" cost --no-such-option >"$dir/out.txt" 2>"$dir/err.txt"; via=$?
"$companion" cost --no-such-option >/dev/null 2>&1; direct=$?
set -e
[ "$via" = "$direct" ] && [ "$via" != 0 ] || fail "exit status $via through kinglet, $direct directly"
grep -q "no-such-option" "$dir/err.txt" || fail "the companion's error did not come through: $(cat "$dir/err.txt")"

# The companion missing: a clear error naming it, not a crash.
cp "$KINGLET" "$dir/kinglet"
set +e
"$dir/kinglet" serve --model x.gguf >"$dir/out.txt" 2>"$dir/err.txt"; status=$?
set -e
[ "$status" = 1 ] || fail "without kinglet-serve: exit status $status, expected 1"
grep -q "kinglet-serve" "$dir/err.txt" || fail "without kinglet-serve the error does not name it: $(cat "$dir/err.txt")"
# ... while the engine's own commands still work.
"$dir/kinglet" --help >/dev/null || fail "kinglet alone cannot show its help"
echo "ok"
