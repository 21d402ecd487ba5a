// Headless Chromium (Debian's `chromium`) for tests of HTML pages: the DOM after the page's scripts
// ran (--dump-dom) and a screenshot. CI runs as root, where Chromium needs --no-sandbox.
"use strict";
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

// The browser binary, or null when none is installed.
function findChromium() {
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

function baseArgs(profile) {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
    `--user-data-dir=${profile}`,
  ];
}

function run(chromium, args) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "kinglet-chromium-"));
  try {
    return execFileSync(chromium, [...baseArgs(profile), ...args], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120000,
    });
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// The serialized DOM of a local file after load.
function dumpDom(chromium, file) {
  return run(chromium, ["--dump-dom", "file://" + path.resolve(file)]);
}

// Saves a PNG screenshot of a local file; returns its {width, height} read from the PNG header.
function screenshot(chromium, file, png, width = 1200, height = 2400) {
  run(chromium, [`--screenshot=${png}`, `--window-size=${width},${height}`, "file://" + path.resolve(file)]);
  const b = fs.readFileSync(png);
  if (b.length < 24 || b.toString("latin1", 1, 4) !== "PNG") throw new Error(`${png}: not a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bytes: b.length };
}

module.exports = { findChromium, dumpDom, screenshot };
