// Draws the read model. `render(state)` on every push (only what changed is touched);
// `tick()` every frame draws the clocks from absolute times and the server clock.

import { clockTime, countdown, duration, epoch, signed, signedSpan } from "./format.js";
import { lang, t } from "/lib/i18n.js";
import { $, el, setClass, setText, show } from "./ui.js";

export class ConsoleView {
  /**
   * @param {object} o
   * @param {string} o.role  director | producer | viewer
   * @param {import('/lib/clock.js').ServerClock} o.clock
   * @param {(id: string) => void} o.onRowClick      director: set next
   * @param {(id: string, skip: boolean) => void} o.onSkip
   * @param {(id: string) => void} o.onNote          producer+: edit the note
   */
  constructor({ role, clock, onRowClick, onSkip, onNote }) {
    Object.assign(this, { role, clock, onRowClick, onSkip, onNote });
    this.state = null;
    this.rows = new Map();   // segment id → {tr, cells...}
    this.rowOrder = "";
    this.connected = false;
    this.attempt = 0;
  }

  get zone() {
    return this.state?.show?.timezone || "Asia/Shanghai";
  }

  segment(id) {
    return this.state?.segments?.find((s) => s.id === id) || null;
  }

  /** A segment's title in the console's language (title_zh in Chinese when there is one). */
  title(id, fallback = "") {
    const seg = this.segment(id);
    if (!seg) return fallback || id || "";
    return (lang() === "zh" && seg.title_zh) ? seg.title_zh : (seg.title || seg.id);
  }

  time(value) {
    return clockTime(value, this.zone, lang());
  }

  setConnection(connected, attempt) {
    this.connected = connected;
    this.attempt = attempt;
    this.drawConnection();
  }

  drawConnection() {
    const pill = $("conn-pill");
    setText(pill, this.connected ? t("conn.live") : t("conn.reconnecting"));
    setClass(pill, "pill-alert", !this.connected);
    const banner = $("banner-reconnect");
    show(banner, !this.connected);
    if (!this.connected) {
      setText(banner, this.attempt ? t("banner.reconnecting", { n: this.attempt })
        : t("banner.connecting"));
    }
    setClass(document.body, "stale", !this.connected);
  }

  /** Everything that depends on the language only (after a switch). */
  relabel() {
    this.rows.clear();
    this.rowOrder = "";
    $("rundown-body").replaceChildren();
    delete $("alarms").dataset.key;
    setText($("role-pill"), t(`role.${this.role}`));
    this.drawConnection();
    if (this.state) this.render(this.state);
  }

  render(state) {
    this.state = state;
    const s = state.show || {};
    const zh = lang() === "zh";
    setText($("show-title"), (zh && s.title_zh) ? s.title_zh : (s.title || ""));
    document.title = `${(zh && s.title_zh) ? s.title_zh : (s.title || "showctl")} · showctl`;
    setText($("wall-zone"), s.timezone || "");

    const live = s.mode === "live";
    const pill = $("mode-pill");
    setText(pill, live ? t("mode.live") : t("mode.rehearsal"));
    setClass(pill, "pill-live", live);
    setClass(pill, "pill-quiet", !live);
    const modeBanner = $("banner-mode");
    show(modeBanner, !live);
    setText(modeBanner, t("banner.rehearsal"));
    const shiftBanner = $("banner-shift");
    const shifted = Boolean(s.shift_s);
    show(shiftBanner, shifted);
    if (shifted) {
      setText(shiftBanner, t("banner.shift", {
        shift: signedSpan(s.shift_s, t("fmt.days")), start: this.time(s.planned_start),
      }));
    }
    show($("banner-panic"), Boolean(s.panic));

    this.renderOnAir(state);
    this.renderTiming(state);
    this.renderObs(state.obs || {});
    this.renderAlarms(state.alarms || []);
    this.renderRundown(state.segments || []);
    this.renderControls(state);
    this.tick();
  }

  renderOnAir(state) {
    const s = state.show || {};
    const onAir = state.on_air;
    const title = $("onair-title");
    if (onAir) setText(title, this.title(onAir.id, onAir.title));
    else setText(title, s.ended ? t("onair.ended") : t("onair.nothing"));
    setClass($("onair-panel"), "is-on", Boolean(onAir));
    show($("onair-held"), Boolean(s.held) && Boolean(onAir));
    setText($("onair-since"), onAir ? this.time(onAir.since_ms) : "—");

    const next = state.next;
    setText($("next-title"), next ? this.title(next.id, next.title) : t("next.none"));
    setText($("next-how"), next ? (next.chosen ? t("next.chosen") : t("next.auto")) : "");
  }

  renderTiming(state) {
    const s = state.show || {};
    const hard = (state.hard_starts || [])[0];
    const box = $("hardstart");
    if (!hard) {
      setText($("hard-title"), t("hard.none"));
      setText($("hard-at"), "");
      setText($("hard-status"), "");
      setClass(box, "warn", false);
    } else {
      setText($("hard-title"), this.title(hard.id));
      setText($("hard-at"), this.time(hard.target_ms));
      const cut = hard.shortfall_s > 0;
      const disarmed = !s.armed;
      let status;
      if (disarmed) status = t("hard.disarmed");
      else if (cut) status = t("hard.cut", { d: duration(hard.shortfall_s) });
      else {
        // slack: target minus arrival with every segment as written; flex makes up the rest
        const slack = Math.round(hard.slack_s ?? 0);
        if (slack > 0) status = t("hard.flex_fill", { d: duration(slack) });
        else if (slack < 0) status = t("hard.flex_trim", { d: duration(-slack) });
        else status = t("hard.on_time");
      }
      if (cut && disarmed) status = `${t("hard.cut", { d: duration(hard.shortfall_s) })} · ${t("hard.disarmed")}`;
      setText($("hard-status"), status);
      setClass(box, "warn", cut || disarmed);
    }
    const offset = s.offset_s ?? 0;
    const rounded = Math.round(offset);
    setText($("show-offset"), rounded === 0 ? t("offset.on_time")
      : (rounded > 0 ? t("offset.late", { d: duration(rounded) })
        : t("offset.early", { d: duration(-rounded) })));
    setText($("show-end"), this.time(s.projected_end));
    setText($("show-overunder"), signed(s.over_under_s));
  }

  renderObs(obs) {
    const conn = $("obs-conn");
    setText(conn, obs.connected ? t("obs.connected") : t("obs.down"));
    setClass(conn, "pill-ok", Boolean(obs.connected));
    setClass(conn, "pill-alert", !obs.connected);
    let program = obs.program_scene || "—";
    if (obs.manual_override) program = `${program} (${t("obs.override")})`;
    setText($("obs-program"), program);
    setClass($("obs-program"), "warn-text", obs.connected && obs.in_sync === false);
    for (const [id, value, on, off] of [
      ["obs-stream", obs.streaming, "obs.streaming", "obs.not_streaming"],
      ["obs-record", obs.recording, "obs.recording", "obs.not_recording"],
    ]) {
      const node = $(id);
      setText(node, value === null || value === undefined ? `${t(off)} ?` : t(value ? on : off));
      setClass(node, "pill-live", value === true);
      setClass(node, "pill-quiet", value !== true);
    }
    const stats = obs.stats;
    const parts = [];
    if (stats) {
      parts.push(`${Number(stats.active_fps || 0).toFixed(0)} fps`);
      parts.push(`CPU ${(Number(stats.cpu_ratio || 0) * 100).toFixed(0)}%`);
    }
    if (obs.take_latency_ms !== null && obs.take_latency_ms !== undefined) {
      parts.push(t("obs.take_latency", { ms: Math.round(obs.take_latency_ms) }));
    }
    setText($("obs-stats"), parts.join(" · "));
  }

  // in the console's language when the server gave a code, else the server's English text
  alarmText(alarm) {
    if (!alarm.code) return alarm.text;
    const key = `alarm.code.${alarm.code}`;
    const params = { ...(alarm.params || {}) };
    if (params.target) params.target = this.time(params.target);
    const text = t(key, params);
    return text === key ? alarm.text : text;
  }

  renderAlarms(alarms) {
    const list = $("alarms");
    const key = JSON.stringify(alarms);
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    const order = { critical: 0, warning: 1, info: 2 };
    const sorted = [...alarms].sort((a, b) => (order[a.level] ?? 3) - (order[b.level] ?? 3));
    list.replaceChildren(...sorted.map((a) => {
      const item = el("li", `alarm alarm-${["critical", "warning", "info"].includes(a.level) ? a.level : "info"}`);
      item.append(el("span", "alarm-level", t(`alarm.${a.level}`) || a.level),
        el("span", "", this.alarmText(a)));
      return item;
    }));
    if (!alarms.length) list.append(el("li", "alarm alarm-none", t("alarm.none")));
  }

  buildRows(segments) {
    const body = $("rundown-body");
    this.rows.clear();
    const editable = this.role === "director" || this.role === "producer";
    body.replaceChildren(...segments.map((seg) => {
      const tr = el("tr", "seg");
      tr.dataset.id = seg.id;
      const status = el("td", "c-status");
      const planned = el("td", "c-time tnum");
      const titleCell = el("td", "c-title");
      const title = el("div", "seg-title");
      const meta = el("div", "seg-meta");
      const note = el("div", "seg-note");
      titleCell.append(title, meta, note);
      const dur = el("td", "c-dur tnum");
      const actual = el("td", "c-time tnum");
      const ou = el("td", "c-ou tnum");
      tr.append(status, planned, titleCell, dur, actual, ou);
      const row = { tr, status, planned, title, meta, note, dur, actual, ou, skip: null };
      if (editable) {
        const actions = el("td", "c-act");
        if (this.role === "director") {
          row.skip = el("button", "btn btn-small row-skip");
          row.skip.type = "button";
          row.skip.addEventListener("click", (e) => {
            e.stopPropagation();
            const current = this.segment(seg.id);
            this.onSkip(seg.id, current?.status !== "skipped");
          });
          actions.append(row.skip);
        }
        const noteButton = el("button", "btn btn-small row-note", t("rd.note"));
        noteButton.type = "button";
        noteButton.addEventListener("click", (e) => {
          e.stopPropagation();
          this.onNote(seg.id);
        });
        actions.append(noteButton);
        tr.append(actions);
      }
      if (this.role === "director") {
        tr.classList.add("clickable");
        tr.title = t("rd.click_next");
        tr.addEventListener("click", () => this.onRowClick(seg.id));
      }
      this.rows.set(seg.id, row);
      return tr;
    }));
  }

  renderRundown(segments) {
    const order = segments.map((s) => s.id).join("\n");
    if (order !== this.rowOrder) {
      this.rowOrder = order;
      this.buildRows(segments);
    }
    const zh = lang() === "zh";
    for (const seg of segments) {
      const row = this.rows.get(seg.id);
      if (!row) continue;
      const status = seg.status || "pending";
      for (const name of ["done", "on-air", "next", "pending", "skipped"]) {
        setClass(row.tr, `st-${name}`, status === name);
      }
      setText(row.status, t(`status.${status}`));
      setText(row.planned, this.time(seg.planned_start));
      setText(row.title, (zh && seg.title_zh) ? seg.title_zh : seg.title);
      const meta = [seg.scene];
      if (seg.hard_start) meta.push(t("rd.hard", { at: this.time(seg.hard_start) }));
      if (seg.flex) meta.push(t("rd.flex", { min: duration(seg.flex[0]), max: duration(seg.flex[1]) }));
      if (seg.notes) meta.push(seg.notes);
      setText(row.meta, meta.join(" · "));
      const producerNote = seg.producer_note || "";
      setText(row.note, producerNote ? t("rd.producer_note", { text: producerNote }) : "");
      show(row.note, Boolean(producerNote));
      setText(row.dur, duration(seg.planned_duration_s));
      if (seg.start) {
        setText(row.actual, this.time(seg.start));
        setClass(row.actual, "expected", false);
        const start = epoch(seg.start);
        const end = epoch(seg.end);
        row.actual.title = end ? `${this.time(seg.start)}–${this.time(seg.end)} (${duration((end - start) / 1000)})` : "";
      } else if (status === "skipped") {
        setText(row.actual, "—");
        setClass(row.actual, "expected", false);
      } else {
        setText(row.actual, seg.expected_start ? `≈${this.time(seg.expected_start)}` : "—");
        setClass(row.actual, "expected", true);
      }
      const ou = seg.over_under_s;
      const shownOu = (seg.start && ou !== null && ou !== undefined) ? signed(ou) : "";
      setText(row.ou, shownOu);
      setClass(row.ou, "warn-text", Boolean(shownOu) && Math.round(ou) > 0);
      if (row.skip) {
        setText(row.skip, status === "skipped" ? t("rd.unskip") : t("rd.skip"));
        show(row.skip, status === "skipped" || status === "pending" || status === "next");
      }
    }
  }

  renderControls(state) {
    if (this.role !== "director") return;
    const s = state.show || {};
    const obs = state.obs || {};
    setText($("btn-hold"), s.held ? t("ctl.unhold") : t("ctl.hold"));
    setClass($("btn-hold"), "btn-on", Boolean(s.held));
    setText($("btn-arm"), s.armed ? t("ctl.disarm") : t("ctl.arm"));
    setClass($("btn-arm"), "btn-warn", !s.armed);
    setText($("btn-mode"), s.mode === "live" ? t("ctl.to_rehearsal") : t("ctl.to_live"));
    setText($("btn-stream"), obs.streaming ? t("ctl.stream_stop") : t("ctl.stream_start"));
    setClass($("btn-stream"), "btn-on", Boolean(obs.streaming));
    setText($("btn-record"), obs.recording ? t("ctl.record_stop") : t("ctl.record_start"));
    setClass($("btn-record"), "btn-on", Boolean(obs.recording));
    $("btn-skip").disabled = !state.next;
    $("btn-clear-next").disabled = !(state.next && state.next.chosen);
  }

  /** The clocks, from absolute times and the server's clock: call every frame. */
  tick() {
    const now = this.clock.now();
    const lng = lang();
    setText($("wall-clock"), clockTime(now, this.zone, lng));
    const state = this.state;
    if (!state) return;
    const onAir = state.on_air;
    const remainingNode = $("onair-remaining");
    if (onAir) {
      const end = Number.isFinite(onAir.planned_end_ms) ? onAir.planned_end_ms
        : state.show.now_ms + onAir.remaining_s * 1000;
      const remaining = end - now;
      setText(remainingNode, countdown(remaining));
      setClass(remainingNode, "over", Math.ceil(remaining / 1000) < 0);
      setText($("onair-elapsed"), duration(Math.floor((now - onAir.since_ms) / 1000)));
    } else {
      setText(remainingNode, "—");
      setClass(remainingNode, "over", false);
      setText($("onair-elapsed"), "—");
    }
    const hard = (state.hard_starts || [])[0];
    setText($("hard-countdown"), hard ? countdown(hard.target_ms - now) : "—");
  }
}
