#!/usr/bin/env python3
"""Renders tests/data/chat/vectors.json with Python's jinja2 configured as Hugging Face transformers
configures it, and lists the vectors where it disagrees with @huggingface/jinja. A diagnostic for
where the two references differ (documented in src/chat/template.h); not part of the test suite."""
import json
import sys
from datetime import datetime
from pathlib import Path

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests/data/chat"


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise RuntimeError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime(2024, 7, 26, 12, 0, 0).strftime(fmt)
    return env


def main():
    env = make_env()
    doc = json.loads((DATA / "vectors.json").read_text())
    differ = 0
    for v in doc["vectors"]:
        src = (DATA / "templates" / v["template"]).read_text()
        try:
            got = env.from_string(src).render(**v["context"])
        except Exception as e:  # noqa: BLE001 - any failure is a result to compare
            got = f"ERROR: {e}"
        want = v.get("expected", "ERROR: " + v.get("error", ""))
        if got != want:
            differ += 1
            print(f"--- {v['template']} {v['case']}")
            print(f"  @huggingface/jinja: {want!r}")
            print(f"  jinja2:             {got!r}")
    print(f"{differ} of {len(doc['vectors'])} vectors differ between the two references")
    return 0


if __name__ == "__main__":
    sys.exit(main())
