// The guest page's share of guest health (docs/guests.md, "Guest health"): the figures its
// report adds (frames the browser captured but did not send, battery where the browser tells)
// and the director's request to switch camera or microphone, which the guest accepts or
// declines here. Accepting replaces the track on the peer connection in place
// (RTCRtpSender.replaceTrack): no renegotiation, no second join, the program picture goes on.
// Text is set with textContent only.

import { t } from "/lib/i18n.js";

const $ = (id) => document.getElementById(id);
let lastFrames = null; // {frames, sent}: the previous report's counters
let battery = null; // the BatteryManager promise (Chromium); null: not asked yet

/** The figures this module adds to the page's report, from the same getStats() report. */
export async function healthFigures(stats) {
  const out = {};
  let frames = null, sent = null;
  stats.forEach((r) => {
    if (r.type === "media-source" && r.kind === "video" && typeof r.frames === "number") frames = r.frames;
    if (r.type === "outbound-rtp" && r.kind === "video" && typeof r.framesSent === "number") {
      sent = (sent || 0) + r.framesSent; // simulcast: every layer's frames, one per capture
    }
  });
  if (sent !== null) out.framesSent = sent;
  if (frames !== null && sent !== null) {
    if (lastFrames && frames > lastFrames.frames) { // dropped since the last report, in %
      const captured = frames - lastFrames.frames;
      const dropped = Math.max(0, captured - Math.min(captured, sent - lastFrames.sent));
      out.frames_dropped_pct = Math.min(100, (100 * dropped) / captured);
    }
    lastFrames = { frames, sent };
  }
  Object.assign(out, await batteryFigures());
  return out;
}

async function batteryFigures() {
  // the Battery Status API: Chromium only; elsewhere nothing is reported (no penalty)
  if (typeof navigator.getBattery !== "function") return {};
  try {
    battery = battery || navigator.getBattery();
    const b = await battery;
    return { battery_pct: Math.round(b.level * 100), power: b.charging ? "charging" : "battery" };
  } catch {
    return {};
  }
}

const KINDS = { camera: "videoinput", microphone: "audioinput" };
const TRACKS = { camera: "video", microphone: "audio" };
let prompt = null; // the open prompt's element

/**
 * A message for this module from the page's socket: the director asks to switch a device,
 * or the server refused the page's report. True when handled here.
 * @param {object} message
 * @param {{pc: () => RTCPeerConnection|null, stream: () => MediaStream|null,
 *   send: (m: object) => void, switched?: () => void}} page
 */
export function onPageMessage(message, page) {
  if (message.type === "error") { // the server could not use what the page sent
    console.warn("showctl:", message.error);
    return true;
  }
  if (message.type !== "switch-device" || !KINDS[message.kind]) return false;
  ask(String(message.kind), page).catch((e) => answer(page, message.kind, "failed", String(e.message || e)));
  return true;
}

function answer(page, kind, outcome, detail = "") {
  state.last = { kind, outcome, detail };
  page.send({ device: { kind, outcome, detail: String(detail).slice(0, 120) } });
}

async function ask(kind, page) {
  const devices = (await navigator.mediaDevices.enumerateDevices())
    .filter((d) => d.kind === KINDS[kind]);
  const current = page.stream()?.getTracks().find((tr) => tr.kind === TRACKS[kind]);
  const using = current?.getSettings().deviceId || "";
  if (prompt) prompt.remove();
  const box = document.createElement("section");
  box.id = "switch-device";
  box.setAttribute("role", "alertdialog");
  const title = document.createElement("h2");
  title.textContent = t(kind === "camera" ? "switch.camera" : "switch.microphone");
  const label = document.createElement("label");
  label.textContent = t("switch.choose") + " ";
  const select = document.createElement("select");
  devices.forEach((d, i) => {
    const o = document.createElement("option");
    o.value = d.deviceId;
    o.textContent = (d.label || t(kind === "camera" ? "device.camera" : "device.microphone") + " " + (i + 1))
      + (d.deviceId === using ? " " + t("switch.in_use") : "");
    select.append(o);
  });
  // the first device not in use is offered first: the director asked for a change
  const other = devices.find((d) => d.deviceId !== using);
  if (other) select.value = other.deviceId;
  label.append(select);
  const ok = document.createElement("button");
  ok.type = "button"; ok.id = "switch-accept"; ok.textContent = t("switch.accept");
  const no = document.createElement("button");
  no.type = "button"; no.id = "switch-decline"; no.textContent = t("switch.decline");
  box.append(title, label, ok, no);
  document.querySelector("main").prepend(box); // on top, where the guest looks
  box.scrollIntoView({ block: "nearest" });
  prompt = box;
  const close = () => { box.remove(); if (prompt === box) prompt = null; };
  no.onclick = () => { close(); answer(page, kind, "declined"); };
  ok.onclick = () => {
    ok.disabled = no.disabled = true;
    switchTo(kind, select.value, page)
      .then((label) => { close(); answer(page, kind, "accepted", label); })
      .catch((e) => { close(); answer(page, kind, "failed", String(e.message || e)); });
  };
}

/** The new device's track replaces the old one on the sender and in the preview. */
async function switchTo(kind, deviceId, page) {
  const media = kind === "camera"
    ? { video: { deviceId: { exact: deviceId }, width: 1280, height: 720 } }
    : { audio: { deviceId: { exact: deviceId } } };
  const track = (await navigator.mediaDevices.getUserMedia(media)).getTracks()[0];
  const pc = page.pc();
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === track.kind);
  try {
    if (sender) await sender.replaceTrack(track); // in place: no new offer, no new join
  } catch (e) {
    track.stop();
    throw e;
  }
  const stream = page.stream();
  if (stream) {
    for (const old of stream.getTracks().filter((tr) => tr.kind === track.kind)) {
      stream.removeTrack(old); old.stop();
    }
    stream.addTrack(track);
  }
  const select = $(kind); // the page's own chooser follows
  if (select && [...select.options].some((o) => o.value === deviceId)) select.value = deviceId;
  state.switches += 1;
  if (kind === "microphone" && page.switched) page.switched(); // the level meter follows
  return track.label;
}

// what a test (or a support engineer in the console) can read
export const state = { last: null, switches: 0 };
