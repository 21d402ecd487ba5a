#!/usr/bin/env bash
# The progress of `kinglet eval` on stderr. Off a terminal (a pipe, a CI log): one plain line per 10% of
# the work, each "kinglet eval: [bar] DONE/TOTAL (P%)  R answers/s  ETA H:MM:SS" (no ETA on the last),
# TOTAL the answers still to do (a resumed run counts only the rest), the bar's fill, the percentage and
# the ETA consistent with DONE, TOTAL and the rate. On a terminal (a pty from script(1)): the bar is
# redrawn in place (carriage return, erase line) and the last drawing is 100% followed by a newline.
# A dataset read from a pipe (read once: no counting pass) gets every answer, counted without a total.
# -q prints no progress. stdout carries the report only.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

node - "$KINGLET" "$KINGLET_SHARED_DIR/models/stories260K/model-q8_0.gguf" "$work" <<'JS'
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const { spawnSync, execFileSync } = require("child_process");
const [kinglet, model, work] = process.argv.slice(2);

const labels = ["girl", "boy", "dog", "cat", "ball"];
const n = 40;
let data = "";
for (let i = 0; i < n; i++) data += JSON.stringify({ id: `c${i}`, input: `Lily saw a little ${i}`, expected: labels[i % 5] }) + "\n";
const cases = path.join(work, "cases.jsonl");
fs.writeFileSync(cases, data);

const args = (extra) => ["eval", "-m", model, "-d", cases, "--labels", labels.join(","), "--template", "{{ input }}",
                         "-t", "1", "--resamples", "50", "--json", ...extra];
function run(extra, opts = {}) {
  const r = spawnSync(kinglet, args(extra), { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  assert.strictEqual(r.status, 0, r.stderr);
  JSON.parse(r.stdout);  // stdout is the report alone
  return r.stderr.split("\n").filter((l) => l.startsWith("kinglet eval:"));
}

const lineRe = /^kinglet eval: \[([#.]{24})\] (\d+)\/(\d+) \((\d+)%\)  (\d+\.\d) answers\/s(?:  ETA (\d+):(\d\d):(\d\d))?$/;
function check(lines, total) {
  const parsed = lines.map((l) => {
    const m = l.match(lineRe);
    assert(m, `progress line: ${JSON.stringify(l)}`);
    return { bar: m[1], done: +m[2], total: +m[3], pct: +m[4], rate: +m[5], eta: m[6] === undefined ? null : +m[6] * 3600 + +m[7] * 60 + +m[8] };
  });
  // One line each time another tenth of the work is done.
  const want = [];
  for (let d = 1; d <= total; d++) if (Math.floor((d * 10) / total) !== Math.floor(((d - 1) * 10) / total)) want.push(d);
  assert.deepStrictEqual(parsed.map((p) => p.done), want);
  for (const p of parsed) {
    assert.strictEqual(p.total, total);
    assert.strictEqual(p.bar, "#".repeat(Math.floor((24 * p.done) / total)).padEnd(24, "."));
    assert(Math.abs(p.pct - (100 * p.done) / total) <= 0.5 + 1e-9, `percentage ${p.pct} of ${p.done}/${total}`);
    assert(p.rate >= 0);
    if (p.done === total) {
      assert.strictEqual(p.eta, null, "no ETA when done");
    } else {
      assert.notStrictEqual(p.eta, null, `an ETA at ${p.done}/${total}`);
      // ETA = the rest at the current rate (the rate is printed rounded to 0.1, the ETA truncated to seconds).
      const left = total - p.done;
      assert(p.eta <= left / Math.max(p.rate - 0.05, 1e-9) + 1e-9, `ETA ${p.eta}s for ${left} at ${p.rate}/s`);
      assert(p.eta >= Math.floor(left / (p.rate + 0.05)) - 1, `ETA ${p.eta}s for ${left} at ${p.rate}/s`);
    }
  }
}

// 1. Off a terminal, every case to do.
check(run([]), n);
// 2. A resumed run: the results file of an interrupted run holds a quarter of the answers (its header and
// first lines), the bar counts the rest.
const results = path.join(work, "results.jsonl");
check(run(["--results", results]), n);
fs.writeFileSync(results, fs.readFileSync(results, "utf8").split("\n").slice(0, 1 + n / 4).join("\n") + "\n");
check(run(["--results", results]), n - n / 4);
// 3. Two targets: an answer per target per case.
check(run(["--target", "local:" + model]), 2 * n);
// 4. -q: nothing.
assert.deepStrictEqual(run(["-q"]), []);
// 5. A named pipe: read once, every case answered, no total.
{
  const fifo = path.join(work, "pipe.jsonl");
  execFileSync("mkfifo", [fifo]);
  const feeder = require("child_process").spawn("sh", ["-c", `cat "${cases}" > "${fifo}"`]);
  const r = spawnSync(kinglet, args([]).map((a) => (a === cases ? fifo : a)), { encoding: "utf8", maxBuffer: 64 << 20 });
  feeder.kill();
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(JSON.parse(r.stdout).targets[0].summary.n, n, "every case of the pipe answered");
  assert(!/ETA/.test(r.stderr), "no ETA without a total");
}
// 6. On a terminal (script(1) gives the command a pty): redrawn in place, ending at 100% and a newline.
{
  const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = [kinglet, ...args([])].map(quote).join(" ") + " >/dev/null";
  const out = execFileSync("script", ["-qefc", cmd, "/dev/null"], { encoding: "utf8", maxBuffer: 64 << 20 });
  const draws = out.split("\r\x1b[K").slice(1);
  assert(draws.length >= 1, `redrawn with CR + erase line: ${JSON.stringify(out.slice(0, 200))}`);
  const last = draws[draws.length - 1];
  assert(/\r?\n$/.test(last), "a newline after the last drawing");
  const m = last.trim().match(lineRe);
  assert(m, `the last drawing: ${JSON.stringify(last)}`);
  assert.strictEqual([+m[2], +m[3]].join("/"), `${n}/${n}`);
  for (const d of draws.slice(0, -1)) assert(lineRe.test(d), `a drawing is one line: ${JSON.stringify(d)}`);
}
console.log("eval_progress: ok");
JS
