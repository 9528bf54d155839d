// One Firefox for a Python test (tests/firefox.py), driven by puppeteer-core over WebDriver
// BiDi. Launch options come as JSON in argv[2]; then requests arrive as JSON lines on stdin
// and answers leave as JSON lines on stdout:
//   -> {"id": 1, "op": "goto", "page": 0, "url": "http://127.0.0.1:8000/"}
//   <- {"id": 1, "ok": true, "value": null}   or   {"id": 1, "ok": false, "error": "..."}
// The first line out is {"ready": true, "pid": <firefox's pid>, "version": "..."} (or
// {"ready": false, "error": "..."}). Requests run concurrently; stdin closed = close Firefox
// and exit, so a Python test that dies takes its browser with it.

import puppeteer from "puppeteer-core";
import { createInterface } from "node:readline";

const options = JSON.parse(process.argv[2] || "{}");
const out = (message) => process.stdout.write(JSON.stringify(message) + "\n");
let browser = null;
const pages = new Map();  // page number -> Page
let nextPage = 0;

function page(n) {
  const p = pages.get(n);
  if (!p) throw new Error(`no page ${n}`);
  return p;
}

const OPS = {
  async newPage() {
    const n = nextPage++;
    pages.set(n, await browser.newPage());
    return n;
  },
  async goto({ page: n, url, timeoutMs }) {
    await page(n).goto(url, { waitUntil: "load", timeout: timeoutMs ?? 15000 });
    return null;
  },
  async evaluate({ page: n, expression }) {
    // a string is evaluated as an expression; a promise is awaited
    return await page(n).evaluate(expression);
  },
  async click({ page: n, selector }) {
    await page(n).click(selector);  // real input actions: counts as a user gesture
    return null;
  },
  async closePage({ page: n }) {
    await page(n).close();
    pages.delete(n);
    return null;
  },
  async close() {
    await shutdown(0);
    return null;
  },
};

let closing = null;
function shutdown(code) {
  closing ??= (async () => {
    try { if (browser) await browser.close(); } catch { /* already gone */ }
    process.exit(code);
  })();
  return closing;
}

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    out({ id: null, ok: false, error: "not JSON: " + line.slice(0, 200) });
    return;
  }
  const op = OPS[request.op];
  if (!op) {
    out({ id: request.id, ok: false, error: `unknown op ${request.op}` });
    return;
  }
  try {
    const value = await op(request);
    out({ id: request.id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    out({ id: request.id, ok: false, error: String((e && e.message) || e) });
  }
}

try {
  browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: options.executablePath || "/usr/bin/firefox-esr",
    headless: options.headless ?? true,
    userDataDir: options.userDataDir,
    extraPrefsFirefox: options.prefs || {},
    timeout: options.launchTimeoutMs ?? 30000,
    protocolTimeout: options.protocolTimeoutMs ?? 30000,
    handleSIGINT: false, handleSIGTERM: true, handleSIGHUP: true,
  });
  const first = (await browser.pages())[0] || await browser.newPage();
  pages.set(nextPage++, first);
  out({ ready: true, pid: browser.process()?.pid ?? null, version: await browser.version() });
} catch (e) {
  out({ ready: false, error: String((e && e.message) || e) });
  await shutdown(1);
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => { if (line.trim()) handle(line); });
lines.on("close", () => shutdown(0));
