#!/usr/bin/env bash
# The default ledger: kinglet serve keeps a SQLite file, kinglet-ledger.db, beside its config file (in
# the working directory without one) unless told `ledger: off` / --ledger off; the startup log names
# it; kinglet cost without --ledger reads that same file, and its totals equal the rows' sums and the
# usage the clients were sent.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
model="$KINGLET_SHARED_DIR/models/stories260K/model-q8_0.gguf"
work=$(mktemp -d /tmp/kinglet-ledger-default-XXXXXX)
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/err" ] && cat "$work/err" >&2; exit 1; }

# start DIR ARGS...: kinglet serve in DIR; sets pid and port once /health answers 200.
start() {
  local dir=$1
  shift
  (cd "$dir" && exec "$KINGLET" serve --port 0 "$@" >"$work/out" 2>"$work/err") &
  pid=$!
  port=""
  for _ in $(seq 1 600); do
    port=$(sed -n 's#.*listening on http://127.0.0.1:\([0-9]*\).*#\1#p' "$work/out")
    if [ -n "$port" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || fail "kinglet serve exited"
    sleep 0.1
  done
  fail "kinglet serve did not become ready"
}
stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "kinglet serve exited $?"
  pid=""
}
# ask N: a completion; appends "prompt_tokens completion_tokens" of its usage to $work/usage.
ask() {
  curl -sf "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d "{\"model\":\"tiny\",\"prompt\":\"Once upon a time $1\",\"max_tokens\":$((3 + $1)),\"temperature\":0}" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const u=JSON.parse(s).usage;console.log(u.prompt_tokens,u.completion_tokens)})' \
    >>"$work/usage"
}
# check FILE N: the ledger FILE has N rows whose token sums equal $work/usage's, and `kinglet cost`
# (run with the remaining arguments, in the folder given as $3) reports the same.
check() {
  local file=$1 n=$2 dir=$3
  shift 3
  read -r want_pt want_ct < <(awk '{p+=$1; c+=$2} END {print p+0, c+0}' "$work/usage")
  read -r rows pt ct < <(sqlite3 -separator ' ' "$file" "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens) FROM requests")
  [ "$rows $pt $ct" = "$n $want_pt $want_ct" ] || fail "$file: rows/tokens $rows $pt $ct, served $n $want_pt $want_ct"
  (cd "$dir" && "$KINGLET" cost --json "$@") >"$work/cost.json" || fail "kinglet cost $*"
  node - "$work/cost.json" "$file" "$n" "$want_pt" "$want_ct" <<'JS' || fail "kinglet cost $*: $(cat "$work/cost.json")"
const [f, file, n, pt, ct] = process.argv.slice(2);
const r = require(f);
const t = r.totals;
if (r.ledger !== "sqlite://" + file || t.requests !== +n || t.prompt_tokens !== +pt || t.completion_tokens !== +ct) process.exit(1);
JS
}

mkdir -p "$work/etc" "$work/run" "$work/plain" "$work/off" "$work/flag"

# 1. A config naming no ledger: the file beside the config, whatever the working directory.
printf 'models:\n  tiny: { path: %s, parallel: 1, threads: 1 }\n' "$model" >"$work/etc/kinglet.yaml"
start "$work/run" -c ../etc/kinglet.yaml
grep -q "ledger sqlite://$work/etc/kinglet-ledger.db (the default" "$work/err" || fail "startup log does not name the default ledger"
: >"$work/usage"
ask 1
ask 2
stop
[ ! -e "$work/run/kinglet-ledger.db" ] || fail "a ledger was made in the working directory"
check "$work/etc/kinglet-ledger.db" 2 "$work/run" --config ../etc/kinglet.yaml

# 2. No config file: the working directory's kinglet-ledger.db; kinglet cost there with no arguments.
start "$work/plain" -m "tiny=$model" -t 1 --parallel 1
grep -q "ledger sqlite://$work/plain/kinglet-ledger.db (the default" "$work/err" || fail "startup log (no config)"
: >"$work/usage"
ask 3
stop
check "$work/plain/kinglet-ledger.db" 1 "$work/plain"

# 3. `ledger: off` in the config, and --ledger off: no ledger, and the log says so.
printf 'models:\n  tiny: { path: %s, parallel: 1, threads: 1 }\nledger: off\n' "$model" >"$work/off/kinglet.yaml"
start "$work/off" -c kinglet.yaml
grep -q "no ledger" "$work/err" || fail "startup log (ledger: off)"
ask 1
stop
start "$work/flag" -m "tiny=$model" -t 1 --parallel 1 --ledger off
ask 1
stop
for d in off flag; do
  if ls "$work/$d" | grep -q ledger; then fail "$d: a ledger file was made: $(ls "$work/$d")"; fi
done

# 4. --ledger URL wins over the config's default.
start "$work/run" -c ../etc/kinglet.yaml --ledger "sqlite://$work/run/explicit.db"
: >"$work/usage"
ask 2
stop
check "$work/run/explicit.db" 1 "$work/run" --ledger "sqlite://$work/run/explicit.db"
echo "ledger_default: ok"
