// The guest page: devices, preview, level meter, Join (WHIP), tally, stats, and the return
// feed (the show minus the guest's own voice) played from the same peer connection. Text is
// set with textContent only: nothing a server or a user sends is ever parsed as HTML. The
// words are in i18n.en.json / i18n.zh.json next to this file; the page's websocket is the
// shared client (/lib/socket.js).
//
// The invite link is bound to the first browser that joins with it: the join's answer carries
// a rejoin secret (header Showctl-Rejoin), kept in this browser's localStorage and sent with
// every later join and on the socket. Another browser is refused (409) and the director is
// asked; its claim id (Showctl-Claim) is repeated until the director answers (docs/guests.md).

import { initI18n, lang, onLangChange, setLang, t } from "/lib/i18n.js";
import { Socket, followLeader, setCarry, wsUrl } from "/lib/socket.js";
import { healthFigures, onPageMessage, state as healthState } from "./health.js";
import { Iso } from "./iso.js";

const STATUSES = ["invited", "connecting", "green-room", "ready", "on-air", "disconnected"];
const boot = JSON.parse(document.getElementById("boot").textContent);
const token = new URLSearchParams(location.search).get("t") || "";
let status = "invited", onAir = false, stream = null, pc = null, session = null;
let wanted = false;
const $ = (id) => document.getElementById(id);
const REJOIN_KEY = `showctl-rejoin:${boot.guest}`;
let rejoin = "", claim = "", ended = null;  // ended: "revoked" | "replaced" | "expired"
try { rejoin = localStorage.getItem(REJOIN_KEY) || ""; } catch { /* storage blocked */ }
function keep(secret) {
  rejoin = secret;
  try { localStorage.setItem(REJOIN_KEY, secret); } catch { /* this tab only */ }
}
// two controllers: the page follows the leader (/lib/socket.js) and takes this browser's
// rejoin secret along in the fragment (another origin's storage cannot read this one's)
if (location.hash.startsWith("#rejoin=")) {
  keep(decodeURIComponent(location.hash.slice("#rejoin=".length)));
  history.replaceState(null, "", location.pathname + location.search);
}
setCarry(() => (rejoin ? "rejoin=" + encodeURIComponent(rejoin) : ""));
// why a join was refused: the page says it in the guest's language and stops (or waits)
class Refused extends Error {
  constructor(key) { super(key); this.key = key; }
}
// why the link to the studio failed (a key in i18n.*.json): said, then tried again
class LinkProblem extends Error {
  constructor(key) { super(key); this.key = key; }
}
// A join attempt owns its peer connection. A newer attempt (a retry, a device change,
// Leave) supersedes it: the old one stops at its next step, quietly, and acts on nothing
// (before, a retry closed an attempt still gathering, which then threw "Peer connection is
// closed" and never posted its offer).
class Superseded extends Error {}
let attempt = 0;  // the newest attempt's number
let problemKey = "", problemParams = {};
function problem(key, params = {}) {  // what the guest sees when the link fails ("" clears)
  problemKey = key; problemParams = params;
  $("error").textContent = key ? t(key, params) : "";
}

function render() {
  document.title = t("page.title");
  $("join").textContent = wanted ? t("join.leave") : t("join.join");
  $("name").textContent = (lang() === "zh" && boot.name_zh) ? boot.name_zh : (boot.name || boot.guest);
  $("role").textContent = boot.role ? "— " + boot.role : "";
  $("tally").dataset.status = status;
  $("tally").textContent = STATUSES.includes(status) ? t(`status.${status}`) : status;
  if (problemKey) problem(problemKey, problemParams);  // in the language just chosen
}

async function devices() {
  if (!navigator.mediaDevices) return;  // not a secure context: nothing to list
  const list = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, sel] of [["videoinput", $("camera")], ["audioinput", $("microphone")]]) {
    const keep = sel.value;
    sel.replaceChildren();
    list.filter((d) => d.kind === kind).forEach((d, i) => {
      const o = document.createElement("option");
      o.value = d.deviceId; o.textContent = d.label || kind + " " + (i + 1);
      sel.append(o);
    });
    if (keep) sel.value = keep;
  }
}

let meterCtx = null, meterRun = 0;
function meter(s) {  // again after a microphone switch (health.js): the old loop stops
  const run = ++meterRun;
  try {
    meterCtx = meterCtx || new AudioContext();
    const an = meterCtx.createAnalyser(); an.fftSize = 512;
    meterCtx.createMediaStreamSource(s).connect(an);
    const buf = new Float32Array(an.fftSize);
    const tick = () => {
      if (stream !== s || run !== meterRun) return;
      an.getFloatTimeDomainData(buf);
      let peak = 0; for (const v of buf) peak = Math.max(peak, Math.abs(v));
      $("level").style.width = Math.min(100, peak * 100).toFixed(0) + "%";
      requestAnimationFrame(tick);
    };
    tick();
  } catch (e) { /* no meter: not fatal */ }
}

// What the guest chose, then any camera at 720p, then whatever the device gives: a chosen
// device may be gone (unplugged, another id after a reload in Safari), a phone may refuse
// the size. Only "this device cannot" errors fall through; a refusal is the guest's answer.
const FALLBACK = new Set(["OverconstrainedError", "NotFoundError", "NotReadableError"]);
async function getMedia(cam, mic) {
  if (!navigator.mediaDevices) throw new Error(t("device.insecure"));  // http:// not loopback
  const tries = [
    { video: cam ? { deviceId: { exact: cam }, width: 1280, height: 720 } : { width: 1280, height: 720 },
      audio: mic ? { deviceId: { exact: mic } } : true },
    { video: { width: 1280, height: 720 }, audio: true },
    { video: true, audio: true },
  ];
  for (let i = 0; ; i++) {
    try {
      return await navigator.mediaDevices.getUserMedia(tries[i]);
    } catch (e) {
      if (i === tries.length - 1 || !FALLBACK.has(e.name)) throw e;
    }
  }
}

async function capture() {
  const s = await getMedia($("camera").value, $("microphone").value);
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = s; $("preview").srcObject = s; meter(s);
  await devices();
}
$("camera").onchange = $("microphone").onchange = () => capture().then(() => { if (wanted) join(); });

// The return feed. Browsers may refuse to play sound before a click: Join is one, so it
// starts playback; if the browser still refuses, a button asks for a click of its own.
function hear() {
  const audio = $("return");
  if (!audio.srcObject) return;
  audio.play().then(() => { $("hear").hidden = true; }).catch(() => { $("hear").hidden = false; });
}
$("hear").onclick = hear;
function received(e) {
  if (e.track.kind !== "audio") return;
  $("return").srcObject = (e.streams && e.streams[0]) || new MediaStream([e.track]);
  hear();
}

const auth = { Authorization: "Bearer " + token };
function joinHeaders() {
  const h = { ...auth, "Content-Type": "application/sdp" };
  if (rejoin) h["Showctl-Rejoin"] = rejoin;
  if (claim) h["Showctl-Claim"] = claim;
  return h;
}
async function hangUp() {
  if (pc) { pc.close(); pc = null; }
  if (session) { fetch(session, { method: "DELETE", headers: auth }).catch(() => {}); session = null; }
}
// the connection's state, for the attempt that made it only: says what happens, retries
function watch(p, mine) {
  if (mine !== attempt) return;
  const state = p.connectionState;
  if (state === "connected") problem("");
  else if (state === "failed") { problem("link.failed"); retry(); }
  else if (state === "disconnected") { problem("link.lost"); retry(); }  // unless it recovers
}
function gathered(p) {  // no trickle: gather fully first (bounded)
  return new Promise((ok) => {
    if (p.iceGatheringState === "complete") return ok();
    p.addEventListener("icegatheringstatechange", () => { if (p.iceGatheringState === "complete") ok(); });
    setTimeout(ok, 3000);
  });
}
const POST_TIMEOUT_MS = 10000;  // a dead network can leave a request hanging for minutes
async function post(p, mine) {  // the offer to the gateway; a network error is said as one
  let r;
  try {
    r = await fetch("/whip/" + encodeURIComponent(boot.guest), {
      method: "POST", headers: joinHeaders(), body: p.localDescription.sdp,
      signal: AbortSignal.timeout(POST_TIMEOUT_MS) });
  } catch {
    if (mine !== attempt) throw new Superseded();
    throw new LinkProblem("link.unreachable");
  }
  if (mine !== attempt) {  // a newer attempt is under way: this session is nobody's
    if (r.status === 201 && r.headers.get("Location")) {
      fetch(r.headers.get("Location"), { method: "DELETE", headers: auth }).catch(() => {});
    }
    throw new Superseded();
  }
  return r;
}
async function connect() {
  const mine = ++attempt;
  const current = () => { if (mine !== attempt) throw new Superseded(); };
  await hangUp();
  if (!stream) await capture();
  current();
  // the show's STUN/TURN servers (none unless configured), the same the gateway uses
  const p = new RTCPeerConnection({ iceServers: boot.ice_servers || [] });
  pc = p;
  // audio both ways (the return feed comes back on it), video one way
  stream.getTracks().forEach((tr) => p.addTransceiver(tr, {
    direction: tr.kind === "audio" ? "sendrecv" : "sendonly", streams: [stream] }));
  p.ontrack = received;
  p.onconnectionstatechange = () => watch(p, mine);
  await p.setLocalDescription(await p.createOffer());
  current();
  await gathered(p);
  current();
  // nothing to offer (no address of this browser can reach anything), or ICE gave up
  // already: the gateway could not reach this browser either
  if (!/^a=candidate:/m.test(p.localDescription.sdp) || p.iceConnectionState === "failed") {
    p.close(); pc = null;
    throw new LinkProblem("link.no_route");
  }
  const r = await post(p, mine);
  if (r.status === 421) {  // this controller does not lead (two controllers): go to the one that does
    p.close(); if (pc === p) pc = null;
    await followLeader();
    throw new Error("421 " + (await r.text()));
  }
  if (r.status === 409 || r.status === 401 || r.status === 403) {
    p.close(); if (pc === p) pc = null;
    const reason = await r.text();
    if (r.status === 409) {
      claim = r.headers.get("Showctl-Claim") || claim;
      throw new Refused("invite.asked");
    }
    throw new Refused(reason.includes("did not let") ? "invite.denied"
      : reason.includes("revoked") ? "invite.revoked"
      : reason.includes("expired") ? "invite.expired" : "invite.invalid");
  }
  if (r.status !== 201) throw new Error(r.status + " " + (await r.text()));
  const answer = await r.text();
  current();
  session = r.headers.get("Location");
  claim = "";
  const secret = r.headers.get("Showctl-Rejoin");
  if (secret && secret !== rejoin) {  // bound to this browser now: the socket with it
    keep(secret);
    socket.stop(); socket.start();
  }
  $("notice").textContent = "";
  await p.setRemoteDescription({ type: "answer", sdp: answer });
}
let retrying = null;
function retry(ms = 2000) {
  if (!wanted || retrying || ended) return;
  retrying = setTimeout(() => {
    retrying = null;
    if (wanted && !(pc && pc.connectionState === "connected")) join();  // unless it recovered
  }, ms);
}
function leave() {  // supersedes any attempt under way
  attempt++;
  problem("");
  hangUp();
}
function end(key) {  // this link cannot be used here any more
  ended = key;
  wanted = false;
  leave();
  socket.stop();
  $("notice").textContent = t(key);
  render();
}
async function join() {
  try {
    await connect();
  } catch (e) {
    if (e instanceof Superseded) {
      return;  // a newer attempt speaks for itself
    } else if (e instanceof LinkProblem) {
      problem(e.key); retry();
    } else if (e instanceof Refused && e.key === "invite.asked") {
      $("notice").textContent = t("invite.asked");
      retry(1000);  // the director's allow lets the next try in: ask again soon (repeats are free)
    } else if (e instanceof Refused) {
      end(e.key);
    } else {
      problem("link.error", { reason: String(e.message || e) }); retry();
    }
  }
}
$("join").onclick = () => {
  if (ended) return;
  wanted = !wanted; render();
  if (wanted) { $("return").play().catch(() => {}); join(); } else leave();
};

let lastSent = null;
async function report() {
  if (!pc || !socket.open) return;
  const out = {};
  const stats = await pc.getStats();
  stats.forEach((r) => {
    if (r.type === "remote-inbound-rtp" && r.kind === "video") {
      if (r.roundTripTime !== undefined) out.rtt_ms = r.roundTripTime * 1000;
      if (r.jitter !== undefined) out.jitter_ms = r.jitter * 1000;
      if (r.packetsLost !== undefined) out.packetsLost = r.packetsLost;
      if (r.fractionLost !== undefined) out.loss_pct = r.fractionLost * 100;
    }
    if (r.type === "outbound-rtp" && r.kind === "video") {
      if (r.framesPerSecond !== undefined) out.framesPerSecond = r.framesPerSecond;
      if (r.bytesSent !== undefined) {  // bitrate since the last report
        if (lastSent && r.timestamp > lastSent.at) {
          out.bitrate_kbps = (r.bytesSent - lastSent.bytes) * 8 / (r.timestamp - lastSent.at);
        }
        lastSent = { bytes: r.bytesSent, at: r.timestamp };
      }
      if (r.qualityLimitationReason) out.qualityLimitationReason = r.qualityLimitationReason;
    }
    // the path in use (host, srflx, relay): the selected pair's local candidate
    if (r.type === "transport" && r.selectedCandidatePairId) {
      const pair = stats.get(r.selectedCandidatePairId);
      const local = pair && stats.get(pair.localCandidateId);
      if (local && local.candidateType) out.candidateType = local.candidateType;
    }
  });
  Object.assign(out, await healthFigures(stats));  // dropped frames, battery (health.js)
  socket.send({ stats: out });
}
setInterval(report, 2000);

function showMessage(text) {  // from the producer: as text, newest on top
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString(lang() === "zh" ? "zh-CN" : "en-GB");
  const body = document.createElement("span");
  body.textContent = text;
  li.append(time, " ", body);
  $("messages").prepend(li);
  while ($("messages").children.length > 5) $("messages").lastElementChild.remove();
  $("messages-box").hidden = false;
}

// the full-quality recording while on air, uploaded after (iso.js)
const iso = new Iso({ guest: boot.guest, line: $("iso"),
  headers: () => (rejoin ? { ...auth, "Showctl-Rejoin": rejoin } : auth),
  devices: () => ({ camera: $("camera").value, microphone: $("microphone").value }) });
// the page's status and the producer's messages; its link stats go back on it
const socket = new Socket({
  url: () => wsUrl(`/guest/${encodeURIComponent(boot.guest)}/ws`, { t: token, r: rejoin }),
  onMessage: (message) => {
    if (onPageMessage(message, { pc: () => pc, stream: () => stream, send: (m) => socket.send(m),
      switched: () => meter(stream) })) return;
    if (message.type === "message") {
      showMessage(String(message.text));
      return;
    }
    if (message.type === "refused") {  // revoked, or the director let another browser in
      if (message.reason === "replaced") {
        try { localStorage.removeItem(REJOIN_KEY); } catch { /* nothing kept */ }
        rejoin = "";
      }
      end(message.reason === "revoked" ? "invite.revoked" : "invite.replaced");
      return;
    }
    status = String(message.status);
    onAir = !!message.on_air;
    iso.follow(status, onAir, message.segment);
    render();
  },
});

$("lang").onclick = () => setLang(lang() === "zh" ? "en" : "zh");
onLangChange(() => { render(); iso.render(); });
try {
  await initI18n("/guest-assets/");
} catch (e) {
  $("error").textContent = String(e.message || e);
}
render();
if (boot.bound && !rejoin) {
  // another browser holds this link: no status, no messages until the director lets us in
  $("notice").textContent = t("invite.in_use");
} else {
  socket.start();
}
capture().catch((e) => {
  $("error").textContent = t("device.none", { reason: e.message || e });
  devices();
});
window.showctlGuest = {
  join: () => { if (!wanted) $("join").click(); },
  state: () => ({ status, onAir, session, hearing: !$("return").paused && !!$("return").srcObject,
    notice: $("notice").textContent, ended, claim, problem: problemKey, attempt }),
  pc: () => pc,
  health: () => healthState,
  iso: () => iso.state(),
};
