// The pair of controllers (docs/redundancy.md, "Pages and sessions"): which node leads,
// whether the standby is healthy and how far behind, etcd reachable, and the director's
// "hand over to backup" (two presses, like PANIC). One machine tells its pages no nodes
// (/lib/socket.js `cookieNodes`): the panel stays hidden and asks nothing.
//
// It also keeps a resume ticket (renewed each minute) for the page to carry to the leader
// when this controller goes away (/lib/socket.js `setCarry`), and on load takes one that
// the page brought here (`#resume=`): this node then sets its own session cookie.

import { cookieNodes, setCarry } from "/lib/socket.js";
import { t } from "/lib/i18n.js";
import { api } from "./api.js";
import { $, show } from "./ui.js";

const POLL_MS = 2000;
const TICKET_EVERY_MS = 60000;
const ARM_MS = 3000;
const LAG_OK_S = 1.0;      // a standby further behind than this is shown as lagging
const RESUME = "resume=";
const ROLE_KEYS = {
  leader: "cluster.role.leader",
  "leader without etcd": "cluster.role.leader_without_etcd",
  follower: "cluster.role.follower",
  candidate: "cluster.role.candidate",
  "stepping down": "cluster.role.stepping_down",
};

/** Take the resume ticket the page brought in its fragment (once; the fragment goes). */
export async function resumeSession() {
  const fragment = location.hash.slice(1);
  if (!fragment.startsWith(RESUME)) return;
  history.replaceState(null, "", location.pathname + location.search);
  try {
    await api("POST", "/api/session/resume", { ticket: fragment.slice(RESUME.length) });
  } catch {
    // expired or used: the login form follows
  }
}

export class ClusterPanel {
  constructor({ role, refused }) {
    this.role = role;
    this.refused = refused;
    this.status = null;
    this.ticket = "";
    this.armedUntil = 0;
    this.timer = null;
  }

  async start() {
    if (!cookieNodes()) return;
    // the page may leave before the first renewal (opened on the standby): ask then
    setCarry(async () => {
      if (!this.ticket) await Promise.race([this.renewTicket(), new Promise((ok) => setTimeout(ok, 1000))]);
      return this.ticket ? RESUME + this.ticket : "";
    });
    this.renewTicket();
    try {
      this.status = await api("GET", "/api/cluster");
    } catch {
      return;  // away: nothing to show
    }
    show($("cluster-panel"), true);
    $("cluster-hand-over")?.addEventListener("click", () => this.press());
    setInterval(() => this.renewTicket(), TICKET_EVERY_MS);
    setInterval(() => this.poll(), POLL_MS);
    this.relabel();
  }

  async renewTicket() {
    try {
      this.ticket = (await api("POST", "/api/session/ticket")).ticket || "";
    } catch {
      // no secret configured, or a token login: the page logs in again at the leader
    }
  }

  async poll() {
    try {
      this.status = await api("GET", "/api/cluster");
    } catch {
      this.status = this.status && { ...this.status, away: true };
    }
    this.relabel();
  }

  async press() {
    if (!(this.armedUntil && performance.now() < this.armedUntil)) {
      this.armedUntil = performance.now() + ARM_MS;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => { this.armedUntil = 0; this.relabel(); }, ARM_MS);
      this.relabel();
      return;
    }
    this.armedUntil = 0;
    clearTimeout(this.timer);
    try {
      this.status = (await api("POST", "/api/cluster/hand-over")).cluster;
    } catch (e) {
      this.refused(e);
    }
    this.relabel();
  }

  relabel() {
    const s = this.status;
    if (!s) return;
    const standby = Object.keys(s.nodes || {}).find((name) => name !== s.leader) || "—";
    const lag = s.standby_lag_s;
    const healthy = typeof lag === "number" && lag <= LAG_OK_S;
    $("cluster-node").textContent = t("cluster.node", { name: s.node, role: ROLE_KEYS[s.role] ? t(ROLE_KEYS[s.role]) : s.role });
    $("cluster-leader").textContent = s.leader ? t("cluster.leader", { name: s.leader })
      : t("cluster.no_leader");
    const standbyText = typeof lag === "number"
      ? t(healthy ? "cluster.standby_ok" : "cluster.standby_lagging", { name: standby, lag: lag.toFixed(2) })
      : t("cluster.standby_unknown", { name: standby });
    $("cluster-standby").textContent = standbyText;
    $("cluster-standby").dataset.healthy = healthy ? "1" : "0";
    $("cluster-etcd").textContent = t(s.etcd_reachable ? "cluster.etcd_ok" : "cluster.etcd_away");
    $("cluster-etcd").dataset.healthy = s.etcd_reachable ? "1" : "0";
    const button = $("cluster-hand-over");
    if (button) {
      button.disabled = !s.leads;
      button.classList.toggle("btn-armed", Boolean(this.armedUntil));
      button.textContent = t(this.armedUntil ? "cluster.hand_over_confirm" : "cluster.hand_over",
        { name: standby });
    }
  }
}
