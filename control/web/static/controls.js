// The director's and producer's actions. Every refusal shows the server's reason as a toast;
// the screen itself changes only through the state push, so every console agrees.

import { api, ApiError } from "./api.js";
import { duration } from "./format.js";
import { t } from "/lib/i18n.js";
import { $, dialog, dialogOpen, el, toast } from "./ui.js";

const PANIC_ARM_MS = 3000;
const TAKE_HEADERS = { "X-Showctl-Source": "console" };

export class Controls {
  /**
   * @param {object} o
   * @param {string} o.role
   * @param {() => object|null} o.state   the latest read model
   * @param {() => void} o.onAuthLost
   */
  constructor({ role, state, onAuthLost }) {
    Object.assign(this, { role, state, onAuthLost });
    this.panicArmedUntil = 0;
    this.panicTimer = null;
    this.taking = false;
  }

  /** Send a command; true when it was accepted. Refusals become toasts. */
  async send(method, path, body = undefined, headers = {}) {
    try {
      await api(method, path, body, headers);
      return true;
    } catch (e) {
      this.refused(e);
      return false;
    }
  }

  refused(e) {
    if (!(e instanceof ApiError)) {
      toast(t("toast.error", { status: "?", reason: String(e) }));
      return;
    }
    if (e.status === 0) toast(t("toast.network"));
    else if (e.status === 401) {
      toast(t("toast.session"));
      this.onAuthLost();
    } else if (e.status === 403) toast(t("toast.forbidden", { reason: e.reason || "" }));
    else if (e.status === 409) toast(t("toast.refused", { reason: e.reason || e.code }));
    else toast(t("toast.error", { status: e.status, reason: e.reason || e.code }));
  }

  bind() {
    if (this.role !== "director") return;
    const on = (id, handler) => $(id).addEventListener("click", (event) => {
      event.currentTarget.blur(); // the space bar is TAKE, never "press the focused button"
      handler();
    });
    on("btn-take", () => this.take());
    on("btn-panic", () => this.panicPress());
    on("btn-hold", () => this.send("POST", "/api/hold", { on: !this.state()?.show?.held }));
    on("btn-extend", () => this.send("POST", "/api/extend", { seconds: 30 }));
    on("btn-skip", () => {
      const next = this.state()?.next;
      if (next) this.send("POST", `/api/skip/${encodeURIComponent(next.id)}`, { skip: true });
    });
    on("btn-back", () => this.send("POST", "/api/back"));
    on("btn-clear-next", () => this.send("DELETE", "/api/next"));
    on("btn-arm", () => this.send("POST", "/api/arm", { armed: !this.state()?.show?.armed }));
    on("btn-mode", () => this.switchMode());
    on("btn-stream", () => this.toggleOutput("stream", Boolean(this.state()?.obs?.streaming)));
    on("btn-record", () => this.toggleOutput("record", Boolean(this.state()?.obs?.recording)));
    on("btn-reload", () => this.reload());

    const typing = (target) => target instanceof HTMLElement
      && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.panicArmedUntil) {
        this.panicDisarm();
        return;
      }
      if (event.code !== "Space" && event.key !== " ") return;
      if (dialogOpen() || typing(event.target)) return;
      event.preventDefault();
      if (!event.repeat) this.take();
    }, true);
    document.addEventListener("keyup", (event) => {
      if ((event.code === "Space" || event.key === " ") && !dialogOpen() && !typing(event.target)) {
        event.preventDefault();
      }
    }, true);
  }

  async take() {
    if (this.taking) return;
    this.taking = true;
    try {
      // what this console shows on air: if another take (a second press, another director, a
      // hard start) landed first, the controller refuses this one instead of skipping one
      const expect = this.state()?.on_air?.id ?? "";
      await this.send("POST", "/api/take", { expect }, TAKE_HEADERS);
    } finally {
      this.taking = false;
    }
  }

  setNext(id) {
    return this.send("POST", `/api/next/${encodeURIComponent(id)}`);
  }

  skip(id, skip) {
    return this.send("POST", `/api/skip/${encodeURIComponent(id)}`, { skip });
  }

  // PANIC: the first press arms it for 3 s (nothing is sent), the second press fires.
  panicPress() {
    if (this.panicArmedUntil && performance.now() < this.panicArmedUntil) {
      this.panicDisarm();
      this.send("POST", "/api/panic");
      return;
    }
    this.panicArmedUntil = performance.now() + PANIC_ARM_MS;
    const button = $("btn-panic");
    button.classList.add("armed");
    const update = () => {
      const left = this.panicArmedUntil - performance.now();
      if (left <= 0) {
        this.panicDisarm();
        return;
      }
      button.textContent = t("ctl.panic_confirm", { s: Math.ceil(left / 1000) });
    };
    update();
    clearInterval(this.panicTimer);
    this.panicTimer = setInterval(update, 100);
  }

  panicDisarm() {
    this.panicArmedUntil = 0;
    clearInterval(this.panicTimer);
    this.panicTimer = null;
    const button = $("btn-panic");
    if (!button) return;
    button.classList.remove("armed");
    button.textContent = t("ctl.panic");
  }

  async switchMode() {
    const live = this.state()?.show?.mode === "live";
    const to = live ? "rehearsal" : "live";
    const ok = await dialog({
      title: live ? t("confirm.to_rehearsal.title") : t("confirm.to_live.title"),
      body: live ? t("confirm.to_rehearsal.body") : t("confirm.to_live.body"),
      ok: live ? t("ctl.to_rehearsal") : t("ctl.to_live"), danger: !live, kind: "mode",
    });
    if (ok) await this.send("POST", "/api/mode", { mode: to });
  }

  async toggleOutput(what, active) {
    const ask = what === "stream" || active; // starting or stopping the stream; stopping a recording
    if (ask) {
      const key = `confirm.${what}_${active ? "stop" : "start"}`;
      const ok = await dialog({ title: t(key), body: t(`${key}.body`), danger: active,
        ok: t(`ctl.${what}_${active ? "stop" : "start"}`), kind: what });
      if (!ok) return;
    }
    await this.send("POST", `/api/${what}`, { active: !active });
  }

  async reload() {
    let data;
    try {
      data = await api("POST", "/api/reload");
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.body) {
        await dialog({ title: t("reload.invalid.title"), body: errorsBody(e.body), cancel: null,
          kind: "reload-errors" });
      } else {
        this.refused(e);
      }
      return;
    }
    await dialog({ title: t("reload.ok.title"),
      body: changesBody(data?.changes || {}, data?.warnings || []), cancel: null,
      kind: "reload-ok" });
  }

  async editNote(id, title, text) {
    const box = el("div", "note-editor");
    box.append(el("p", "muted", title));
    const area = el("textarea", "note-text");
    area.value = text || "";
    area.rows = 4;
    area.maxLength = 2000;
    area.setAttribute("aria-label", t("note.label"));
    box.append(area);
    const done = dialog({ title: t("note.title"), body: box, ok: t("note.save"), kind: "note" });
    area.focus();
    if (await done) {
      await this.send("POST", `/api/notes/${encodeURIComponent(id)}`, { text: area.value });
    }
  }
}

function errorsBody(body) {
  const box = el("div", "reload-result");
  box.append(el("p", "", t("reload.invalid.body")));
  const errors = Array.isArray(body.errors) ? body.errors : [];
  if (body.reason && !errors.length) box.append(el("p", "muted", body.reason));
  const list = el("ul", "reload-errors");
  for (const line of errors) {
    list.append(el("li", "mono", typeof line === "string" ? line : JSON.stringify(line)));
  }
  box.append(list);
  return box;
}

function changesBody(changes, warnings) {
  const box = el("div", "reload-result");
  const section = (key, items, render) => {
    if (!Array.isArray(items) || !items.length) return;
    box.append(el("h3", "", t(key, { n: items.length })));
    const list = el("ul", "reload-changes");
    for (const item of items) list.append(el("li", "mono", render(item)));
    box.append(list);
  };
  const id = (item) => (typeof item === "string" ? item : (item?.id ?? JSON.stringify(item)));
  section("reload.added", changes.added, id);
  section("reload.removed", changes.removed, id);
  section("reload.retimed", changes.retimed, (item) => (typeof item === "string" ? item
    : `${item.id}: ${duration(item.from_s)} → ${duration(item.to_s)}`));
  section("reload.changed", changes.changed, id);
  section("reload.moved", changes.moved, id);
  section("reload.show", changes.show, id);
  if (changes.guests === true) box.append(el("h3", "", t("reload.guests")));
  if (!box.children.length) box.append(el("p", "", t("reload.no_changes")));
  section("reload.warnings", warnings, (item) => (typeof item === "string" ? item
    : JSON.stringify(item)));
  return box;
}
