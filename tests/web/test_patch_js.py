"""The console's JSON Patch applier (static/patch.js) in real headless Chromium agrees with
the controller's diff: for many random pairs of documents, old + diff(old, new) == new in the
browser, the old document is not changed, and a patch that does not fit throws."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from helpers import launch_chromium
from playwright.sync_api import sync_playwright

from control.web.patch import diff

PATCH_JS = Path(__file__).resolve().parents[2] / "control" / "lib" / "patch.js"
KEYS = ["a", "b", "on_air", "~", "/", "a/b", "~1", "", "0", "segments"]


def document(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value (seeded, so a failure is repeatable)."""
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-5, 5)
    if kind == 3:
        return rng.choice(["", "x", "上", "a/b"])
    if kind == 4:
        return rng.uniform(-1, 1)
    if kind in (5, 6):
        return {rng.choice(KEYS): document(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [document(rng, depth + 1) for _ in range(rng.randrange(5))]


def test_the_browser_applies_the_controllers_patches() -> None:
    rng = random.Random(20261129)
    cases = []
    for _ in range(400):
        old = document(rng)
        # half the time a near neighbour (the usual case: a few fields change)
        new = document(rng) if rng.random() < 0.5 else json.loads(json.dumps(old))
        if isinstance(new, dict) and rng.random() < 0.8:
            new[rng.choice(KEYS)] = document(rng, 2)
        cases.append({"old": old, "new": new, "patch": diff(old, new)})
    module = PATCH_JS.read_text("utf-8").replace("export function", "function")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.add_script_tag(content=module + "\nwindow.applyPatch = applyPatch;")
            # compared with keys sorted: JS puts integer-like keys ("0") first in any object
            results = page.evaluate("""(cases) => {
              const canon = (v) => Array.isArray(v) ? `[${v.map(canon).join(',')}]`
                : (v !== null && typeof v === 'object')
                  ? `{${Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k]))}}`
                  : JSON.stringify(v);
              return cases.map(({old, new: wanted, patch}) => {
                const before = canon(old);
                const got = applyPatch(old, patch);
                return {ok: canon(got) === canon(wanted), untouched: canon(old) === before};
              });
            }""", cases)
            refused = page.evaluate("""() => [
                [{a: 1}, [{op: 'remove', path: '/b'}]],
                [{a: [1]}, [{op: 'replace', path: '/a/3', value: 2}]],
                [{a: 1}, [{op: 'move', from: '/a', path: '/b'}]],
                [{a: 1}, [{op: 'add', path: '/a/b', value: 1}]],
            ].map(([doc, ops]) => { try { applyPatch(doc, ops); return null; }
                                    catch (e) { return String(e.message); } })""")
        finally:
            browser.close()
    failed = [c for c, r in zip(cases, results, strict=True) if not r["ok"]]
    assert not failed, failed[:3]
    assert all(r["untouched"] for r in results)
    assert all(refused), refused
