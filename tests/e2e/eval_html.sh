#!/usr/bin/env bash
# The HTML reports of `kinglet eval --html` and `kinglet calibrate --html`, opened in headless Chromium:
# the rendered DOM must hold the side-by-side table (one row per target, the accuracy the JSON output
# gives), the cost–accuracy and escalation charts (one point per curve point of the JSON report), the
# reliability diagram (one bar per non-empty bin) and the confusion matrix (one row per label); a
# screenshot is saved under the build folder. Without Chromium: skipped locally, a failure in CI.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "eval_html: chromium is not installed (scripts/deps.sh installs it)" >&2
    exit 1
  fi
  echo "eval_html: SKIPPED: chromium is not installed (apt-get install chromium)"
  exit 77
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
artifacts="${KINGLET_BUILD_DIR:-$work}/test-artifacts"
mkdir -p "$artifacts"

# A labelled dataset the tiny story model can partly answer: which word ends the sentence.
node - "$work/cases.jsonl" <<'JS'
const fs = require("fs");
const labels = ["girl", "boy", "dog", "cat", "ball"];
const starts = ["Once upon a time, there was a", "One day, a", "Lily saw a", "Tom had a", "In the park, there was a",
                "The mom gave her a"];
const adjs = ["little", "big", "happy", "small", "red", "funny", "sad", "kind"];
let id = 0, out = "";
for (const s of starts)
  for (const a of adjs) {
    out += JSON.stringify({ id: `c${id}`, input: `${s} ${a}`, expected: labels[(id * 7) % 5] }) + "\n";
    id++;
  }
fs.writeFileSync(process.argv[2], out);
JS

models="$KINGLET_SHARED_DIR/models/stories260K"
common=(-d "$work/cases.jsonl" --labels girl,boy,dog,cat,ball --template '{{ input }}' --split-fractions 0,0.5,0.5
        --seed 5 --resamples 200 -q)
"$KINGLET" eval -m "$models/model-q8_0.gguf" "${common[@]}" --results "$work/small.jsonl" \
  --json --html "$work/eval.html" > "$work/eval.json"
"$KINGLET" eval -m "$models/model-f32.gguf" "${common[@]}" --results "$work/large.jsonl" --json > /dev/null
status=0
"$KINGLET" calibrate --small "$work/small.jsonl" --large "$work/large.jsonl" --objective escalation=30% \
  --small-price 0.02,0.02 --large-price 1.25,10 --seed 5 --resamples 200 --json \
  --html "$work/cascade.html" > "$work/cascade.json" || status=$?
[ "$status" = 0 ] || [ "$status" = 2 ]

node - "$here/browser/chromium.js" "$work" "$artifacts" <<'JS'
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const [lib, work, artifacts] = process.argv.slice(2);
const { findChromium, dumpDom, screenshot } = require(lib);
const chromium = findChromium();

// Counts of elements in serialized HTML: Chromium writes tags and attributes in a normalized form.
const count = (html, re) => (html.match(re) || []).length;
function section(html, openRe, closeTag) {
  const m = html.match(openRe);
  assert(m, `no element matching ${openRe}`);
  const end = html.indexOf(closeTag, m.index);
  assert(end > 0, `${openRe} is not closed`);
  return html.slice(m.index, end + closeTag.length);
}

// 1. kinglet eval --html: one target.
{
  const report = JSON.parse(fs.readFileSync(path.join(work, "eval.json"), "utf8"));
  const s = report.targets[0].summary;
  const dom = dumpDom(chromium, path.join(work, "eval.html"));
  assert(dom.includes("kinglet eval report"), "title rendered");
  const targets = section(dom, /<table[^>]*id="targets"/, "</table>");
  assert.strictEqual(count(targets.slice(targets.indexOf("<tbody")), /<tr>/g), 1, "one target row");
  assert(targets.includes(s.accuracy.estimate.toFixed(3)), `accuracy ${s.accuracy.estimate} in the table`);
  assert(targets.includes(s.macro_f1.estimate.toFixed(3)), "macro-F1 in the table");
  const cost = section(dom, /<svg[^>]*id="cost-accuracy"/, "</svg>");
  assert.strictEqual(count(cost, /class="target-point"/g), 1, "one target point");
  const rel = section(dom, /<svg[^>]*class="reliability"/, "</svg>");
  const nonEmpty = s.reliability.count.filter((c) => c > 0).length;
  assert.strictEqual(count(rel, /<rect class="bar"/g), nonEmpty, "one bar per non-empty bin");
  const conf = section(dom, /<table[^>]*class="confusion"/, "</table>");
  const body = conf.slice(conf.indexOf("<tbody"), conf.indexOf("</tbody>"));
  assert.strictEqual(count(body, /<tr>/g), s.per_class.length, "one confusion row per label");
  // The diagonal holds the correct answers of each label.
  const diag = [...body.matchAll(/<td class="diag"[^>]*>(\d+)<\/td>/g)].map((m) => Number(m[1]));
  assert.deepStrictEqual(diag, s.confusion.matrix.map((row, i) => row[i]));
  assert.strictEqual(diag.reduce((a, b) => a + b, 0), Math.round(s.accuracy.estimate * s.n));
  const shot = screenshot(chromium, path.join(work, "eval.html"), path.join(artifacts, "eval_report.png"), 1200, 1800);
  assert.deepStrictEqual([shot.width, shot.height], [1200, 1800]);
  assert(shot.bytes > 10000, "the screenshot is not blank");
}

// 2. kinglet calibrate --html: the cascade's curve.
{
  const rep = JSON.parse(fs.readFileSync(path.join(work, "cascade.json"), "utf8"));
  const dom = dumpDom(chromium, path.join(work, "cascade.html"));
  const targets = section(dom, /<table[^>]*id="targets"/, "</table>");
  assert.strictEqual(count(targets.slice(targets.indexOf("<tbody")), /<tr>/g), 2, "small and large rows");
  assert(targets.includes(rep.small_alone.accuracy.estimate.toFixed(3)));
  assert(targets.includes(rep.large_alone.accuracy.estimate.toFixed(3)));
  const cost = section(dom, /<svg[^>]*id="cost-accuracy"/, "</svg>");
  assert.strictEqual(count(cost, /class="curve-point"/g), rep.curve.length, "every curve point drawn");
  assert.strictEqual(count(cost, /class="target-point"/g), 2);
  const esc = section(dom, /<svg[^>]*id="escalation-curve"/, "</svg>");
  assert.strictEqual(count(esc, /class="curve-point"/g), rep.curve.length);
  assert.strictEqual(count(esc, /class="chosen"/g), rep.chosen === null ? 0 : 1);
  if (rep.chosen !== null) {
    const test = section(dom, /<table[^>]*id="cascade-test"/, "</table>");
    assert(test.includes(rep.test.accuracy.estimate.toFixed(3)), "the test split's accuracy");
  }
  const shot = screenshot(chromium, path.join(work, "cascade.html"), path.join(artifacts, "eval_cascade_report.png"),
                          1200, 1400);
  assert.deepStrictEqual([shot.width, shot.height], [1200, 1400]);
}
console.log(`eval_html: ok (screenshots in ${artifacts})`);
JS
