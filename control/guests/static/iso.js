// The guest's full-quality recording (ISO): while the guest is on air this page records its
// own camera and microphone (a capture of its own, at higher quality than the live sender)
// with MediaRecorder, one piece a second kept in IndexedDB. After the segment it uploads the
// pieces in order, each with its SHA-256 (SubtleCrypto), never while the guest is on air or
// next up, and no faster than RATE so the live stream keeps the link. A page closed
// mid-upload picks up where the server says it stopped when the link is opened again in this
// browser. Routes: control/guests/isoroutes.py; docs/guests.md "ISO recordings".

import { t } from "/lib/i18n.js";

const DB = "showctl-iso";
const RATE = 2_000_000;  // bytes a second at most while uploading
const SLICE_MS = 1000;   // one piece (one upload chunk) a second
const RETRY_MS = 5000;
// VP8 first: its encoder costs less CPU than VP9's (the live sender needs the CPU), Chromium
// and Firefox both record it, and at 8 Mbit/s it is master quality for a talking head
const TYPES = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"];

function request(r) {
  return new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
}
function openDb() {
  const r = indexedDB.open(DB, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore("recordings", { keyPath: "key" });
    r.result.createObjectStore("chunks", { keyPath: ["key", "seq"] });
  };
  return request(r);
}
async function hex(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Iso {
  // guest: the id; headers(): the invite token and rejoin secret; devices(): {camera,
  // microphone} ids chosen on the page; line: the element that shows progress
  constructor({ guest, headers, devices, line }) {
    Object.assign(this, { guest, headers, devices, line });
    this.db = openDb();
    this.recorder = null; this.current = null;  // the recording under way
    this.warm = null;        // a promise of the capture, opened while next up
    this.armed = false;      // that capture is open: a take starts recording at once
    this.live = false;       // on air or next up: no upload
    this.phase = "idle";     // idle | recording | waiting | uploading | done | failed
    this.sent = 0; this.total = 0; this.error = "";
    this.writing = Promise.resolve();
    this.pumping = false; this.again = false;
    this.db.then(() => this.recover()).then(() => this.pump()).catch((e) => this.fail(e));
  }

  async store(name, mode = "readonly") {
    return (await this.db).transaction(name, mode).objectStore(name);
  }
  async recordings() {
    const all = await request((await this.store("recordings")).getAll());
    return all.filter((r) => r.guest === this.guest).sort((a, b) => a.started - b.started);
  }
  async putRecording(rec) { await request((await this.store("recordings", "readwrite")).put(rec)); }

  // a recording this page did not finish (the tab closed on air): upload what there is
  async recover() {
    for (const rec of await this.recordings()) {
      if (rec.state === "recording") { rec.state = "recorded"; await this.putRecording(rec); }
    }
  }

  // the page's status: record while on air (a new recording per segment), upload after
  follow(status, onAir, segment) {
    this.live = onAir || status === "ready";
    const want = onAir && segment ? segment : null;
    if (this.current && this.current.segment !== want) this.stop();
    if (want && !this.current) this.start(want).catch((e) => this.fail(e));
    // next up: the capture is opened now, so the recording starts with the take
    if (!want && status === "ready" && !this.warm) {
      const warm = this.capture().catch(() => null);
      this.warm = warm;
      warm.then((stream) => { this.armed = !!stream && this.warm === warm; });
    }
    if (!want && status !== "ready" && this.warm) this.cool();
    if (!this.live) this.pump();
    this.render();
  }

  async capture() {
    const { camera, microphone } = this.devices();
    const video = { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 30 } };
    if (camera) video.deviceId = { exact: camera };
    return navigator.mediaDevices.getUserMedia({
      video, audio: microphone ? { deviceId: { exact: microphone }, channelCount: { ideal: 2 } }
        : { channelCount: { ideal: 2 } } });
  }

  cool() {
    const warm = this.warm;
    this.warm = null; this.armed = false;
    warm.then((stream) => stream && stream.getTracks().forEach((tr) => tr.stop()));
  }

  async start(segment) {
    const rec = { key: newKey(), guest: this.guest, segment, started: Date.now(), last: null,
      stopped: null, count: 0, state: "recording" };
    this.current = rec;
    const warm = this.warm;
    this.warm = null; this.armed = false;
    const stream = (warm && await warm) || await this.capture();
    if (this.current === rec) await this.putRecording(rec);
    if (this.current !== rec) { stream.getTracks().forEach((tr) => tr.stop()); return; }  // off air meanwhile
    const mimeType = TYPES.find((type) => MediaRecorder.isTypeSupported(type)) || "";
    const recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: 8_000_000,
      audioBitsPerSecond: 192_000 });
    this.recorder = recorder;  // (from here to start() nothing waits: stop() finds it)
    recorder.ondataavailable = (e) => {
      if (!e.data || !e.data.size) return;
      const seq = rec.count++;
      rec.last = Date.now();
      this.writing = this.writing.then(async () => {
        await request((await this.store("chunks", "readwrite")).put({ key: rec.key, seq, blob: e.data }));
        await this.putRecording(rec);
      }).catch((err) => this.fail(err));
    };
    recorder.onstart = () => { rec.started = Date.now(); };
    recorder.onstop = () => {
      stream.getTracks().forEach((tr) => tr.stop());
      rec.stopped = Date.now(); rec.state = "recorded";
      this.writing = this.writing.then(() => this.putRecording(rec)).then(() => this.pump())
        .catch((err) => this.fail(err));
    };
    recorder.start(SLICE_MS);
    this.phase = "recording"; this.render();
  }

  stop() {
    const recorder = this.recorder;
    this.recorder = null; this.current = null;
    if (recorder && recorder.state !== "inactive") recorder.stop();
    if (this.phase === "recording") this.phase = "waiting";
  }

  async api(method, path, body, extra = {}) {
    const r = await fetch(`/guest/${encodeURIComponent(this.guest)}/iso${path}`, {
      method, body, headers: { ...this.headers(), ...extra } });
    const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
    if ([401, 403].includes(r.status) || (r.status === 409 && !r.headers.get("Content-Type")?.includes("json"))) {
      throw Object.assign(new Error(data.error), { final: true });  // the link is no longer this browser's
    }
    return { status: r.status, data };
  }

  // upload every finished recording, oldest first; paused while live, retried on errors
  async pump() {
    if (this.pumping) { this.again = true; return; }  // once the one under way ends
    this.pumping = true; this.again = false;
    try {
      for (const rec of await this.recordings()) {
        if (this.live) break;
        if (rec.state === "recorded") await this.upload(rec);
      }
      if (!this.live && this.phase === "waiting" && !this.current) this.phase = "idle";
    } catch (e) {
      this.fail(e);
      if (!e.final) setTimeout(() => this.pump(), RETRY_MS);  // else: the next reload
    } finally {
      this.pumping = false;
      this.render();
      if (this.again) setTimeout(() => this.pump(), 0);
    }
  }

  async upload(rec) {
    if (!rec.count) { await this.forget(rec); return; }  // on air too briefly for a piece
    const json = { "Content-Type": "application/json" };
    const opened = await this.api("POST", "", JSON.stringify({ key: rec.key, segment: rec.segment }), json);
    if (opened.status >= 300) throw new Error(opened.data.error);
    let next = opened.data.next;
    this.total = rec.count; this.sent = next; this.phase = "uploading"; this.render();
    const name = encodeURIComponent(opened.data.name);
    while (opened.data.phase !== "complete" && next < rec.count) {
      if (this.live) { this.phase = "waiting"; return; }
      const row = await request((await this.store("chunks")).get([rec.key, next]));
      const buffer = await row.blob.arrayBuffer();
      const began = performance.now();
      const put = await this.api("PUT", `/${name}/chunks/${next}`, buffer, { "Showctl-Sha256": await hex(buffer) });
      if (put.status === 409) {  // the server knows better where to go on
        const now = await this.api("GET", `/${name}`);
        if (now.status !== 200) throw new Error(now.data.error);
        next = now.data.next;
        continue;
      }
      if (put.status !== 200) throw new Error(put.data.error);
      next = put.data.next; this.sent = next; this.render();
      await sleep(Math.max(0, buffer.byteLength / RATE * 1000 - (performance.now() - began)));
    }
    const duration = (rec.stopped || rec.last || rec.started) - rec.started;
    const done = await this.api("POST", `/${name}/done`, JSON.stringify({ chunks: rec.count, duration_ms: duration }), json);
    if (done.status !== 200) throw new Error(done.data.error);
    await this.forget(rec);
    this.phase = "done"; this.error = "";
  }

  async forget(rec) {
    const chunks = await this.store("chunks", "readwrite");
    await request(chunks.delete(IDBKeyRange.bound([rec.key, 0], [rec.key, Infinity])));
    await request((await this.store("recordings", "readwrite")).delete(rec.key));
  }

  fail(e) {
    this.phase = "failed"; this.error = String((e && e.message) || e);
    this.render();
  }

  render() {
    if (!this.line) return;
    const pct = this.total ? Math.floor(100 * this.sent / this.total) : 0;
    const text = {
      idle: "", recording: t("iso.recording"), waiting: t("iso.waiting"),
      uploading: this.live ? t("iso.waiting") : t("iso.uploading", { pct }),
      done: t("iso.done"), failed: t("iso.failed", { reason: this.error }),
    }[this.phase];
    this.line.textContent = text;
    this.line.hidden = !text;
  }

  state() {
    return { phase: this.phase, sent: this.sent, total: this.total, error: this.error,
      recording: !!this.recorder, live: this.live, armed: this.armed };
  }
}
