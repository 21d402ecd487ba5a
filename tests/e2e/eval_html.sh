#!/usr/bin/env bash
# The HTML reports of `kinglet eval --html` and `kinglet calibrate --html`, opened in headless Chromium:
# the rendered DOM must hold the side-by-side table (one row per target, the accuracy the JSON output
# gives), the cost–accuracy and escalation charts (one point per curve point of the JSON report), the
# reliability diagram (one bar per non-empty bin) and the confusion matrix (one row per label); a
# screenshot is saved under the build folder. `kinglet eval --calibrate ROUTE --traffic N --html` must
# show the projected month three ways, each figure recomputed here from the per-case results (the large
# step's test-split tokens at the config's prices, the small step's test-split latency, the machine's
# price) and the test split's escalation rate. Without Chromium: skipped locally, a failure in CI.
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

# The same two models as a cascade route of a config file, calibrated, with the month projected.
cat > "$work/kinglet.yaml" <<YAML
models:
  small: { path: $models/model-q8_0.gguf, price: { input_per_mtok: 0.02, output_per_mtok: 0.02 } }
  large: { path: $models/model-f32.gguf, price: { input_per_mtok: 1.25, output_per_mtok: 10 } }
routes:
  triage:
    policy: cascade
    labels: [girl, boy, dog, cat, ball]
    steps:
      - { target: small, signal: label_prob, min_confidence: 0.5 }
      - { target: large }
YAML
status=0
"$KINGLET" eval --calibrate triage --config "$work/kinglet.yaml" -d "$work/cases.jsonl" --template '{{ input }}' \
  --request text --split-fractions 0,0.5,0.5 --seed 5 --resamples 200 -t 1 -q --target-escalation 30% \
  --traffic 20000 --machine-usd-per-hour 0.35 --peak-factor 2 --results "$work/route.jsonl" --json \
  --html "$work/route.html" > "$work/route.json" || status=$?
[ "$status" = 0 ]

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
// 3. kinglet eval --calibrate ROUTE --traffic --html: the projected month, recomputed from the results file.
{
  const rep = JSON.parse(fs.readFileSync(path.join(work, "route.json"), "utf8"));
  const c = rep.cascade;
  assert.notStrictEqual(c.chosen, null, "a threshold meets 30%");
  const rows = fs.readFileSync(path.join(work, "route.jsonl"), "utf8").trim().split("\n").slice(1).map(JSON.parse);
  const test = (t) => rows.filter((r) => r.target === t && r.split === "test");
  const mean = (rs, f) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  const large = test("large"), small = test("small");
  assert(large.length > 0 && large.length === small.length);
  const inTok = mean(large, (r) => r.prompt_tokens), outTok = mean(large, (r) => r.completion_tokens);
  const perRequest = (inTok * 1.25 + outTok * 10) / 1e6;     // the large model's price in the config
  const monthly = 20000 * 30;
  const allApi = monthly * perRequest;
  const seconds = mean(small, (r) => r.latency_ms) / 1000;   // a request busies a machine this long
  const load = (20000 * seconds) / 86400;
  const machines = Math.max(1, Math.ceil(load * 2 - 1e-9)); // sized for peak x2
  const allSlm = machines * 0.35 * 24 * 30;
  const escalation = small.filter((r) => r.label_prob < c.chosen.threshold).length / small.length;
  assert.strictEqual(escalation, c.test.escalation_rate.estimate);
  const expected = {
    all_api: { monthly: allApi, api: allApi, local: 0, machines: 0 },
    all_slm: { monthly: allSlm, api: 0, local: allSlm, machines },
    hybrid: { monthly: allSlm + escalation * allApi, api: escalation * allApi, local: allSlm, machines },
  };

  const dom = dumpDom(chromium, path.join(work, "route.html"));
  const table = section(dom, /<table[^>]*id="projection"/, "</table>");
  const body = table.slice(table.indexOf("<tbody"), table.indexOf("</tbody>"));
  const trs = [...body.matchAll(/<tr data-option="([a-z_]+)">([\s\S]*?)<\/tr>/g)];
  assert.deepStrictEqual(trs.map((m) => m[1]), ["all_api", "all_slm", "hybrid"], "one row per option");
  const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  for (const [, name, tr] of trs) {
    const cell = (cls) => {
      const m = tr.match(new RegExp(`<td class="${cls}"(?: data-v="([^"]*)")?>([^<]*)</td>`));
      assert(m, `${name}: no td.${cls}`);
      return { v: m[1] === undefined ? undefined : Number(m[1]), text: m[2] };
    };
    const want = expected[name];
    for (const [cls, key] of [["monthly", "monthly"], ["api", "api"], ["local", "local"]]) {
      const got = cell(cls);
      assert(close(got.v, want[key]), `${name} ${cls}: ${got.v} vs ${want[key]}`);
      assert.strictEqual(got.text, want[key].toFixed(2), `${name} ${cls} shown`);
    }
    assert.strictEqual(Number(cell("machines").text), want.machines, `${name} machines`);
    const per1k = cell("per1k");
    assert(close(per1k.v, (want.monthly / monthly) * 1000), `${name} per 1k requests`);
    if (name !== "all_api") {
      const saved = cell("savings");
      assert(close(saved.v, (allApi - want.monthly) / allApi), `${name} savings`);
      assert.strictEqual(saved.text, `${allApi - want.monthly > 0 ? "-" : "+"}${Math.abs(((allApi - want.monthly) / allApi) * 100).toFixed(1)}%`);
    }
  }
  const note = section(dom, /<p[^>]*id="projection-input"/, "</p>");
  assert(note.includes("20000") && note.includes(`${(escalation * 100).toFixed(1)}%`), note);
  const shot = screenshot(chromium, path.join(work, "route.html"), path.join(artifacts, "eval_route_report.png"),
                          1200, 2400);
  assert(shot.bytes > 10000, "the screenshot is not blank");
}
console.log(`eval_html: ok (screenshots in ${artifacts})`);
JS
