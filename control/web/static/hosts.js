// "To the hosts": the director's message to the presenter screens (docs/stage.md), the
// one-press wrap-up / stretch signal, and the host's read-back. Each is a command
// (POST /api/command: journaled with who and when, like every other).

import { t, lang } from "/lib/i18n.js";
import { api } from "./api.js";
import { clockTime } from "./format.js";
import { $ } from "./ui.js";

export class HostsPanel {
  constructor({ refused }) {
    this.refused = refused;
    this.stage = null;
    this.timezone = undefined;
    this.bind();
  }

  bind() {
    const form = $("hosts-form");
    if (!form) return;  // not the director: the panel is absent
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("hosts-text").value.trim();
      if (text) this.send({ kind: "message", text }).then((ok) => { if (ok) $("hosts-text").value = ""; });
    });
    $("hosts-clear").addEventListener("click", () => this.send({ kind: "message", text: "" }));
    for (const cue of ["wrap", "stretch"]) {
      $(`hosts-${cue}`).addEventListener("click", () => {
        const on = this.stage?.signal?.cue === cue;
        this.send({ kind: "signal", cue: on ? null : cue });
      });
    }
  }

  async send(command) {
    try {
      await api("POST", "/api/command", command, { "X-Showctl-Source": "console" });
      return true;
    } catch (e) {
      this.refused(e);
      return false;
    }
  }

  render(state) {
    this.stage = state.stage || null;
    this.timezone = state.show?.timezone;
    this.relabel();
  }

  relabel() {
    const status = $("hosts-read");
    if (!status) return;
    const message = this.stage?.message;
    status.dataset.read = message ? (message.read_ms !== null ? "1" : "0") : "";
    status.textContent = !message ? "" : message.read_ms !== null
      ? t("hosts.read", { id: message.id, time: clockTime(message.read_ms, this.timezone, lang()) })
      : t("hosts.unread", { id: message.id });
    const cue = this.stage?.signal?.cue;
    for (const name of ["wrap", "stretch"]) {
      const button = $(`hosts-${name}`);
      button.classList.toggle("btn-armed", cue === name);
      button.textContent = cue === name ? t("hosts.signal_off", { cue: t(`hosts.${name}`) })
        : t(`hosts.${name}`);
    }
  }
}
