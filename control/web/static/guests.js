// The guests panel: every roster guest with status, a live thumbnail while connected, link
// quality and a signal meter (the health figure, its cause in the tooltip), and (producer+) volume, mute, A/V offset, a message to the guest's page; the
// director's invite controls: a link, revoke, release, asking the guest to switch camera or
// microphone, and the prompt when another browser
// asks to use a guest's bound link (allow / refuse); each guest's full-quality recordings.
// Rows are built once per roster and updated in place, so a field being typed in is never
// replaced by a push.

import { api } from "./api.js";
import { lang, t } from "/lib/i18n.js";
import { $, dialog, el, setClass, setText, show, toast } from "./ui.js";

// status → its label key (listed, so the i18n test sees every key)
const STATUS_KEYS = {
  invited: "gstatus.invited",
  connecting: "gstatus.connecting",
  "green-room": "gstatus.green-room",
  ready: "gstatus.ready",
  "on-air": "gstatus.on-air",
  disconnected: "gstatus.disconnected",
};
// the health figure's words (control/guests/health.py): grade, and the cause with its value
const GRADE_KEYS = { good: "health.good", fair: "health.fair", poor: "health.poor", lost: "health.lost" };
const CAUSE_KEYS = {
  loss: "health.cause.loss", rtt: "health.cause.rtt", jitter: "health.cause.jitter",
  frames: "health.cause.frames", late: "health.cause.late", cpu: "health.cause.cpu", bandwidth: "health.cause.bandwidth",
  battery: "health.cause.battery", silent: "health.cause.silent",
};
export const BARS = 4;
// past these the number is a warning (amber)
export const LIMITS = { rtt_ms: 300, loss_pct: 5, jitter_ms: 30 };
const MAX_GAIN_DB = 24;
const MAX_AV_OFFSET_MS = 500;
// statuses with a picture to show; the server makes at most one thumbnail a second per guest
const CONNECTED = new Set(["green-room", "ready", "on-air"]);
export const THUMB_MS = 1000;
export const ISO_MS = 5000; // the recordings' list: uploads take minutes

function fixed(value, digits = 0) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";
}

export class GuestsPanel {
  /**
   * @param {object} o
   * @param {string} o.role   director | producer | viewer (read only)
   * @param {(e: Error) => void} o.refused   shows a refusal (Controls.refused)
   */
  constructor({ role, refused }) {
    Object.assign(this, { role, refused });
    this.canAct = role === "director" || role === "producer";
    this.canInvite = role === "director"; // minting and letting browsers in: the director's
    this.rows = new Map(); // guest id → {li, cells...}
    this.order = "";
    this.guests = [];
    this.seq = 0; // cache-busting: every thumbnail request is a new URL
    this.thumbTimer = setInterval(() => this.refreshThumbs(), THUMB_MS);
    this.isoTimer = setInterval(() => this.refreshIso(), ISO_MS);
    this.recordings = [];
    this.refreshIso();
  }

  /** The guests' full-quality recordings (ISO): each guest's files, size, length and
   * whether complete or still uploading; the director downloads complete ones. */
  async refreshIso() {
    if (document.hidden) return;
    try {
      this.recordings = (await api("GET", "/api/iso"))?.recordings || [];
    } catch {
      return; // not fatal: the next try
    }
    for (const [id, row] of this.rows) this.showIso(row, this.recordings.filter((r) => r.guest === id));
  }

  showIso(row, recordings) {
    const items = recordings.map((r) => {
      const li = el("li", `iso-${r.phase}`);
      const state = t(r.phase === "complete" ? "guests.iso_complete" : "guests.iso_uploading");
      const seconds = typeof r.duration_ms === "number" ? Math.round(r.duration_ms / 1000) : null;
      li.append(el("span", "tnum", t("guests.iso", { file: r.file, state,
        mb: (r.bytes / 1e6).toFixed(1),
        duration: seconds === null ? "—" : `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}` })));
      if (r.url && this.canInvite) { // the director's: a download, logged by the server
        const a = el("a", "iso-download", t("guests.iso_download"));
        a.href = r.url; a.download = `${r.guest}-${r.file}`;
        li.append(" ", a);
      }
      return li;
    });
    row.iso.replaceChildren(...items);
    show(row.iso, items.length > 0);
  }

  /** Ask for a new thumbnail of every connected guest, one request per guest at a time,
   * and none while the console is hidden (nobody is looking). */
  refreshThumbs() {
    if (document.hidden) return;
    for (const [id, row] of this.rows) {
      if (!row.connected || row.thumbLoading) continue;
      row.thumbLoading = true;
      const img = el("img", "guest-thumb");
      Object.assign(img, { width: 96, height: 54, decoding: "async" });
      img.alt = row.thumb.alt;
      img.addEventListener("load", () => {
        row.thumbLoading = false;
        if (!row.connected) return;
        row.thumb.replaceWith(img); // swapped once loaded: no blank frame between pictures
        row.thumb = img;
      });
      img.addEventListener("error", () => { // 404: no picture yet
        row.thumbLoading = false;
        show(row.thumb, false);
      });
      img.src = `/api/guests/${encodeURIComponent(id)}/thumbnail.jpg?v=${++this.seq}`;
    }
  }

  relabel() {
    this.rows.clear();
    this.order = "";
    $("guests-list").replaceChildren();
    this.render(this.guests);
  }

  render(guests) {
    this.guests = Array.isArray(guests) ? guests : [];
    const order = this.guests.map((g) => g.id).join("\n");
    if (order !== this.order) {
      this.order = order;
      this.rows.clear();
      $("guests-list").replaceChildren(...this.guests.map((g) => this.row(g)));
    }
    show($("guests-none"), this.guests.length === 0);
    setText($("guests-count"), this.guests.length ? String(this.guests.length) : "");
    for (const g of this.guests) this.update(g);
  }

  row(g) {
    const li = el("li", "guest");
    li.dataset.id = g.id;
    const head = el("div", "guest-head");
    const thumb = el("img", "guest-thumb");
    Object.assign(thumb, { width: 96, height: 54, hidden: true });
    thumb.alt = t("guests.thumbnail", { name: g.name || g.id });
    const names = el("div", "guest-names");
    const name = el("span", "guest-name");
    const other = el("span", "guest-name-other muted");
    names.append(name, other);
    const status = el("span", "pill guest-status");
    // the signal meter: bars from the health figure, its cause in the tooltip
    const meter = el("span", "signal");
    meter.setAttribute("role", "img");
    for (let i = 0; i < BARS; i++) meter.append(el("i", `bar bar-${i + 1}`));
    show(meter, false);
    head.append(thumb, names, meter, status);
    const link = el("div", "guest-link tnum");
    const parts = {};
    for (const key of ["rtt_ms", "loss_pct", "jitter_ms", "bitrate_kbps", "path"]) {
      parts[key] = el("span", `lk lk-${key}`);
      link.append(parts[key]);
    }
    // another browser asks to use this guest's link: everyone sees it, the director answers
    const claim = el("div", "guest-claim");
    claim.setAttribute("role", "alert");
    const claimText = el("span", "claim-text");
    claim.append(claimText);
    if (this.canInvite) {
      const allow = el("button", "btn btn-small btn-danger claim-allow", t("guests.claim_allow"));
      const refuse = el("button", "btn btn-small claim-refuse", t("guests.claim_refuse"));
      allow.type = refuse.type = "button";
      allow.addEventListener("click", () => this.answer(g.id, true));
      refuse.addEventListener("click", () => this.answer(g.id, false));
      claim.append(allow, refuse);
    }
    show(claim, false);
    const iso = el("ul", "guest-iso"); // full-quality recordings (refreshIso)
    iso.setAttribute("aria-label", t("guests.iso_title"));
    li.append(head, link, claim, iso);
    const row = { li, thumb, name, other, status, meter, link, parts, claim, claimText, iso,
      connected: false, thumbLoading: false };
    this.showIso(row, this.recordings.filter((r) => r.guest === g.id));
    if (this.canAct) li.append(this.controls(g.id, row));
    this.rows.set(g.id, row);
    return li;
  }

  controls(id, row) {
    const box = el("div", "guest-controls");
    const gainLabel = el("label", "guest-gain");
    gainLabel.append(el("span", "muted", t("guests.gain")));
    const gain = el("input", "gain-input tnum");
    Object.assign(gain, { type: "number", min: -MAX_GAIN_DB, max: MAX_GAIN_DB, step: 1 });
    gain.setAttribute("aria-label", t("guests.gain"));
    gain.addEventListener("change", () => {
      const value = Number(gain.value);
      if (gain.value !== "" && Number.isFinite(value)) this.setLevel(id, { gain_db: value });
    });
    gainLabel.append(gain, el("span", "muted", "dB"));
    const offsetLabel = el("label", "guest-gain guest-av-offset");
    offsetLabel.append(el("span", "muted", t("guests.av_offset")));
    const offset = el("input", "av-offset-input tnum");
    Object.assign(offset, { type: "number", min: -MAX_AV_OFFSET_MS, max: MAX_AV_OFFSET_MS, step: 10 });
    offset.setAttribute("aria-label", t("guests.av_offset"));
    offset.title = t("guests.av_offset_hint");
    offset.addEventListener("change", () => {
      const value = Number(offset.value);
      if (offset.value !== "" && Number.isFinite(value)) this.setAvOffset(id, value);
    });
    offsetLabel.append(offset, el("span", "muted", "ms"));
    const mute = el("button", "btn btn-small mute-btn");
    mute.type = "button";
    mute.addEventListener("click", () => {
      const muted = mute.getAttribute("aria-pressed") === "true";
      this.setLevel(id, { muted: !muted });
    });
    const invites = [];
    if (this.canInvite) {
      for (const [cls, key, fn] of [["invite-btn", "guests.invite", () => this.invite(id)],
        ["revoke-btn", "guests.revoke", () => this.revoke(id)],
        ["release-btn", "guests.release", () => this.release(id)],
        ["switch-camera-btn", "guests.switch_camera", () => this.switchDevice(id, "camera")],
        ["switch-microphone-btn", "guests.switch_microphone", () => this.switchDevice(id, "microphone")]]) {
        const b = el("button", `btn btn-small ${cls}`, t(key));
        b.type = "button";
        b.addEventListener("click", fn);
        invites.push(b);
      }
    }
    const form = el("form", "guest-message");
    const text = el("input", "message-input");
    Object.assign(text, { type: "text", maxLength: 500, placeholder: t("guests.message_placeholder") });
    text.setAttribute("aria-label", t("guests.message_placeholder"));
    const send = el("button", "btn btn-small message-send", t("guests.send"));
    send.type = "submit";
    form.append(text, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.message(id, text, send);
    });
    box.append(gainLabel, mute, offsetLabel, ...invites, form);
    Object.assign(row, { gain, mute, offset });
    return box;
  }

  update(g) {
    const row = this.rows.get(g.id);
    if (!row) return;
    const zh = lang() === "zh";
    const main = (zh && g.name_zh) ? g.name_zh : (g.name || g.id);
    const other = zh ? (g.name && g.name !== main ? g.name : "") : (g.name_zh || "");
    setText(row.name, main);
    setText(row.other, other);
    const status = String(g.status || "invited");
    row.li.dataset.status = status;
    setText(row.status, STATUS_KEYS[status] ? t(STATUS_KEYS[status]) : status);
    setClass(row.status, "pill-live", status === "on-air");
    setClass(row.status, "pill-warn", status === "disconnected");
    setClass(row.status, "pill-quiet", status !== "on-air" && status !== "disconnected");
    setClass(row.li, "is-on-air", status === "on-air");
    row.connected = CONNECTED.has(status);
    if (!row.connected) show(row.thumb, false); // shown again by the next picture that loads

    const link = g.link || null;
    const has = (key) => link && typeof link[key] === "number";
    const lossPct = has("loss_pct") ? link.loss_pct : null;
    const values = {
      rtt_ms: [t("guests.rtt", { v: has("rtt_ms") ? fixed(link.rtt_ms) : "—" }), has("rtt_ms") && link.rtt_ms > LIMITS.rtt_ms],
      loss_pct: [t("guests.loss", { v: lossPct === null ? "—" : fixed(lossPct, 1) }), lossPct !== null && lossPct > LIMITS.loss_pct],
      jitter_ms: [t("guests.jitter", { v: has("jitter_ms") ? fixed(link.jitter_ms) : "—" }), has("jitter_ms") && link.jitter_ms > LIMITS.jitter_ms],
      bitrate_kbps: [t("guests.bitrate", { v: has("bitrate_kbps") ? fixed(link.bitrate_kbps) : "—" }), false],
      // the ICE path in use (host, srflx, relay: through TURN), as the guest page reports it
      path: [t("guests.path", { v: link && typeof link.candidateType === "string" ? link.candidateType : "—" }), false],
    };
    let warned = false;
    for (const [key, [text, warn]] of Object.entries(values)) {
      setText(row.parts[key], text);
      setClass(row.parts[key], "warn-text", warn);
      warned ||= warn;
    }
    show(row.link, Boolean(link));
    setClass(row.li, "link-warn", warned);
    this.updateMeter(row.meter, g.health || null);

    if (row.gain) {
      const level = g.level || { gain_db: 0, muted: false };
      if (document.activeElement !== row.gain) {
        const value = String(level.gain_db ?? 0);
        if (row.gain.value !== value) row.gain.value = value;
      }
      const muted = Boolean(level.muted);
      row.mute.setAttribute("aria-pressed", String(muted));
      setText(row.mute, muted ? t("guests.unmute") : t("guests.mute"));
      setClass(row.mute, "btn-warn", muted);
    }
    this.updateClaim(g, row, main);
    if (row.offset && document.activeElement !== row.offset) {
      const value = String(g.av_offset_ms ?? 0);
      if (row.offset.value !== value) row.offset.value = value;
    }
  }

  /** The signal meter: lit bars, the grade as a class, the cause in words (tooltip). */
  updateMeter(meter, health) {
    show(meter, Boolean(health));
    if (!health) return;
    const bars = Math.max(0, Math.min(BARS, Number(health.bars) || 0));
    meter.dataset.grade = String(health.grade);
    meter.dataset.bars = String(bars);
    meter.querySelectorAll(".bar").forEach((b, i) => setClass(b, "lit", i < bars));
    const grade = GRADE_KEYS[health.grade] ? t(GRADE_KEYS[health.grade]) : String(health.grade);
    const v = typeof health.value === "number"
      ? (Number.isInteger(health.value) ? String(health.value) : fixed(health.value, 1)) : "—";
    const cause = CAUSE_KEYS[health.cause] ? t(CAUSE_KEYS[health.cause], { v }) : "";
    const text = cause ? t("health.tooltip_cause", { grade, score: health.score, cause })
      : t("health.tooltip", { grade, score: health.score });
    if (meter.title !== text) {
      meter.title = text;
      meter.setAttribute("aria-label", text);
    }
  }

  async switchDevice(id, kind) {
    try {
      const data = await api("POST", `/api/guests/${encodeURIComponent(id)}/switch-device`, { kind });
      toast(data?.delivered ? t("guests.switch_asked") : t("guests.not_delivered"), data?.delivered ? "" : "warn");
    } catch (e) {
      this.refused(e);
    }
  }

  /** The prompt while another browser asks to use the guest's bound link. */
  updateClaim(g, row, name) {
    const claim = g.invite?.claim || null;
    row.claimId = claim ? String(claim.id) : null;
    show(row.claim, Boolean(claim));
    setClass(row.li, "has-claim", Boolean(claim));
    if (!claim) return;
    const who = [claim.address, claim.agent].filter(Boolean).join(" · ") || "?";
    const key = claim.allowed ? "guests.claim_allowed"
      : (g.status === "on-air" ? "guests.claim_on_air" : "guests.claim");
    setText(row.claimText, t(key, { who, name }));
    for (const b of row.claim.querySelectorAll("button")) show(b, !claim.allowed);
  }

  async answer(id, allow) {
    const claim = this.rows.get(id)?.claimId;
    if (!claim) return;
    try {
      await api("POST", `/api/guests/${encodeURIComponent(id)}/claim`, { claim, allow });
    } catch (e) {
      this.refused(e);
    }
  }

  async revoke(id) {
    const g = this.guests.find((x) => x.id === id);
    const name = (lang() === "zh" && g?.name_zh) ? g.name_zh : (g?.name || id);
    const sure = await dialog({ title: t("guests.revoke_title"), body: t("guests.revoke_body", { name }),
      ok: t("guests.revoke"), danger: true, kind: "revoke" });
    if (!sure) return;
    try {
      await api("POST", `/api/guests/${encodeURIComponent(id)}/revoke`);
      toast(t("guests.revoked", { name }));
    } catch (e) {
      this.refused(e);
    }
  }

  async release(id) {
    try {
      await api("POST", `/api/guests/${encodeURIComponent(id)}/release`);
      toast(t("guests.released"));
    } catch (e) {
      this.refused(e);
    }
  }

  async setLevel(id, body) {
    try {
      await api("POST", `/api/guests/${encodeURIComponent(id)}/level`, body);
    } catch (e) {
      this.refused(e);
    }
  }

  async setAvOffset(id, ms) {
    try {
      await api("POST", `/api/guests/${encodeURIComponent(id)}/av-offset`, { av_offset_ms: ms });
    } catch (e) {
      this.refused(e);
    }
  }

  async message(id, input, button) {
    const text = input.value.trim();
    if (!text) return;
    button.disabled = true;
    try {
      const data = await api("POST", `/api/guests/${encodeURIComponent(id)}/message`, { text });
      input.value = "";
      if (!data?.delivered) toast(t("guests.not_delivered"), "warn");
    } catch (e) {
      this.refused(e);
    } finally {
      button.disabled = false;
    }
  }

  async invite(id) {
    let data;
    try {
      data = await api("POST", `/api/guests/${encodeURIComponent(id)}/invite`);
    } catch (e) {
      this.refused(e);
      return;
    }
    const g = this.guests.find((x) => x.id === id);
    const box = el("div", "invite-box");
    box.append(el("p", "", t("guests.invite_body", { name: (lang() === "zh" && g?.name_zh) ? g.name_zh : (g?.name || id) })));
    const url = el("input", "invite-url mono");
    Object.assign(url, { type: "text", readOnly: true, value: String(data?.url || "") });
    url.setAttribute("aria-label", t("guests.invite"));
    url.addEventListener("focus", () => url.select());
    box.append(url);
    const done = dialog({ title: t("guests.invite_title"), body: box, ok: t("guests.copy"), kind: "invite" });
    url.focus();
    if (await done) {
      try {
        await navigator.clipboard.writeText(url.value);
      } catch {
        url.select(); // no clipboard permission: selected, for Ctrl+C
      }
    }
  }
}
