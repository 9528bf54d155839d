// One reconnecting websocket client for every page (the console's state and graphics feeds,
// the overlay pages, the guest page).
//
// - `Socket`: connects, reconnects with backoff (250 ms doubling to 5 s, with jitter, so a
//   hundred pages that lost the controller together do not come back together), gives up on
//   an upgrade that hangs, and (with `quietMs`) replaces a socket that went quiet. Its state
//   is a `Status`; `onStatus` hears every change. Each message is parsed once and handed to
//   `onMessage` synchronously: nothing is deferred between the network and the page's draw.
// - `Revisions`: the revision protocol both hubs speak (sans-I/O): a snapshot sets the
//   revision; a delta applies only on top of the revision it names (`prev`); a gap, or a
//   delta that does not fit, asks for a snapshot (`{"type": "resync"}`) and ignores deltas
//   until it comes.
// - `Feed`: a Socket with Revisions (and, given a clock, clock sampling): the console's
//   `/api/ws?delta=1` (docs/api.md) and the overlay pages' `/overlays/ws` (docs/overlays.md).
// - `ClockSampler`: pings for the ServerClock (clock.js): a burst on connect, again every
//   second until the clock is precise, then every 10-20 s.
// - Following the leader (two controllers: docs/redundancy.md, "Pages and sessions"): the
//   controller tells its pages the nodes in a cookie (none on one machine: nothing
//   changes, nothing is asked); the first Socket a page starts then asks its own
//   controller `GET /cluster/leader`. Given the nodes, a socket that closes (or is refused with
//   `NOT_LEADER_CLOSE` by a node that does not lead) first asks every node who leads, and
//   when one says it does and it is not this page's origin, the page moves there: the same
//   path and query, plus what `setCarry` adds (the console's resume ticket, a guest's
//   rejoin secret) in the fragment, which no server and no log sees.

export const Status = Object.freeze({
  CONNECTING: "connecting",
  OPEN: "open",
  WAITING: "waiting",     // closed; the next attempt is scheduled
  STOPPED: "stopped",     // stop() was called, or `allowed` said no
});

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;
const CLUSTER_BACKOFF_MAX_MS = 1000;  // with a standby to find, ask again at least each second
const ASK_TIMEOUT_MS = 1500;          // a node that does not answer by then is away
export const NOT_LEADER_CLOSE = 4421; // the server's close: this node does not lead
export const LEADER_PATH = "/cluster/leader";
const NODES_COOKIE = "showctl_nodes";  // set by a controller of two on its pages

/** What the page knows of the controllers: `nodes` ({name: URL}) once its own controller
 * said it is one of two (null: one machine, or not asked yet); `moving` once it is leaving
 * for the leader. */
export const cluster = { nodes: null, moving: false, carry: null, joined: null };

/** `carry()` gives the fragment (without "#") the page takes to the leader, or "". */
export function setCarry(carry) {
  cluster.carry = carry;
}

/** The leader's URL from the nodes' answers to /cluster/leader (sans-I/O): the first node
 * that says itself it leads, or null. An answer naming a leader that has not said so itself
 * is not enough: two nodes that each think the other leads must not send pages back and
 * forth. */
export function chooseLeader(answers) {
  for (const answer of answers) {
    if (answer && answer.leads === true && typeof answer.url === "string") return answer.url;
  }
  return null;
}

async function ask(base, fetchFn) {
  const response = await fetchFn(new URL(LEADER_PATH, base).href, {
    cache: "no-store", credentials: "omit", signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

/** Ask every known node (and this page's own) at once; the leader's URL as soon as one says
 * it leads, null when none does. */
export function askLeader(fetchFn = fetch) {
  const bases = new Set([location.origin, ...Object.values(cluster.nodes || {})]);
  return new Promise((resolve) => {
    let pending = bases.size;
    for (const base of bases) {
      ask(base, fetchFn).then((answer) => {
        const url = chooseLeader([answer]);
        if (url) resolve(url);
      }, () => {}).finally(() => {
        pending -= 1;
        if (pending === 0) resolve(null);
      });
    }
  });
}

function elsewhere(url) {
  try {
    return new URL(url).origin !== location.origin;
  } catch {
    return false;
  }
}

/** Move the page to the leader at `url` (same path and query, the carried fragment). */
export async function moveTo(url) {
  cluster.moving = true;
  let fragment = "";
  try {
    fragment = cluster.carry ? await cluster.carry() : "";
  } catch {
    fragment = "";
  }
  const target = new URL(location.pathname + location.search, url);
  target.hash = fragment || "";
  location.replace(target.href);
}

/** When the leader is known and is not this page's controller, go there; true if moving. */
export async function followLeader() {
  if (cluster.moving) return true;
  if (!cluster.nodes) return false;
  const url = await askLeader();
  if (!url || !elsewhere(url)) return false;
  await moveTo(url);
  return true;
}

/** The nodes a controller of two tells its pages in a cookie (null: one machine). */
export function cookieNodes(cookies = document.cookie) {
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name !== NODES_COOKIE) continue;
    try {
      const nodes = JSON.parse(decodeURIComponent(rest.join("=")));
      if (nodes && typeof nodes === "object" && Object.keys(nodes).length > 1) return nodes;
    } catch {
      return null;
    }
  }
  return null;
}

/** Once per page: is this controller one of two, and does it lead? (Not: the page moves.)
 * One machine sets no cookie: its pages ask nothing. */
export function joinCluster(fetchFn = fetch) {
  if (!cluster.joined) {
    cluster.nodes = cookieNodes();
    cluster.joined = !cluster.nodes ? Promise.resolve() : ask(location.origin, fetchFn).then(
      async (answer) => {
        if (answer && answer.nodes && typeof answer.nodes === "object") cluster.nodes = answer.nodes;
        if (answer && answer.leads === false) await followLeader();
      }, () => {});  // no answer: the socket's closes will ask again
  }
  return cluster.joined;
}

/** The wait before attempt `attempt` (1, 2, ...): doubling from `min` to `max`, jittered
 * to between half and all of it. */
export function backoff(attempt, { min = BACKOFF_MIN_MS, max = BACKOFF_MAX_MS,
  random = Math.random } = {}) {
  const base = Math.min(max, min * 2 ** Math.max(0, attempt - 1));
  return base * (0.5 + random() / 2);
}

/** `path` on this page's host as a ws: / wss: URL, with `params` as its query. */
export function wsUrl(path, params = {}) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url.href;
}

export class Socket {
  /**
   * @param {object} o
   * @param {() => string} o.url                     asked again before every attempt
   * @param {(message: object, received: number) => void} o.onMessage   parsed JSON
   * @param {() => void} [o.onOpen]
   * @param {(status: string, attempt: number) => void} [o.onStatus]
   * @param {number|null} [o.quietMs]   no message for this long: the socket is dead
   * @param {() => Promise<boolean>} [o.allowed]  asked before a repeated attempt: false
   *   (e.g. the session is gone) stops the socket and calls `onDenied`
   * @param {() => void} [o.onDenied]
   */
  constructor({ url, onMessage, onOpen = () => {}, onStatus = () => {}, quietMs = null,
    allowed = null, onDenied = () => {} }) {
    Object.assign(this, { url, onMessage, onOpen, onStatus, quietMs, allowed, onDenied });
    this.ws = null;
    this.status = Status.STOPPED;
    this.attempt = 0;          // failed attempts since the last open
    this.told = 0;             // the attempt `onStatus` last heard of
    this.lastMessage = 0;
    this.timers = new Set();
  }

  get open() {
    return this.status === Status.OPEN;
  }

  start() {
    if (this.status !== Status.STOPPED) return;
    joinCluster();
    this.connect();
  }

  stop() {
    this.setStatus(Status.STOPPED);
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
  }

  /** Send `message` as JSON; false when not open (nothing is queued for later). */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Run `fn` after `ms` unless the socket is stopped or replaced first. */
  later(ms, fn) {
    const id = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    this.timers.add(id);
    return id;
  }

  clearTimers() {
    for (const id of this.timers) clearTimeout(id);
    this.timers.clear();
  }

  /** Tell `onStatus` of a new status, or of a new attempt while WAITING. */
  setStatus(status) {
    if (status === this.status && this.attempt === this.told) return;
    this.status = status;
    this.told = this.attempt;
    this.onStatus(status, this.attempt);
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    this.setStatus(Status.CONNECTING);
    // an upgrade that hangs (a half-open network) is given up on like a closed socket
    this.later(CONNECT_TIMEOUT_MS, () => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    });
    ws.onopen = () => this.opened(ws);
    ws.onmessage = (event) => {
      const received = performance.timeOrigin + performance.now();
      this.lastMessage = received;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message !== null && typeof message === "object") this.onMessage(message, received);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      if (event.code === NOT_LEADER_CLOSE) this.attempt = 0;  // told where to look: at once
      if (this.status !== Status.STOPPED) this.retry();
    };
  }

  opened(ws) {
    this.clearTimers();
    this.attempt = 0;
    this.lastMessage = performance.timeOrigin + performance.now();
    this.setStatus(Status.OPEN);
    if (this.quietMs) this.watch(ws);
    this.onOpen();
  }

  watch(ws) {
    this.later(this.quietMs / 2, () => {
      if (performance.timeOrigin + performance.now() - this.lastMessage > this.quietMs) {
        ws.close();
        return;
      }
      this.watch(ws);
    });
  }

  retry() {
    this.attempt += 1;
    this.setStatus(Status.WAITING);
    const max = cluster.nodes ? CLUSTER_BACKOFF_MAX_MS : BACKOFF_MAX_MS;
    this.later(backoff(this.attempt, { max }), () => this.reconnect());
  }

  async reconnect() {
    if (this.status === Status.STOPPED) return;
    if (cluster.nodes && await followLeader()) return;  // the page is leaving for the leader
    if (this.status === Status.STOPPED) return;
    if (this.allowed && this.attempt > 1) {
      // a refused upgrade looks like any failure: ask whether we may still connect
      let allowed = true;
      try {
        allowed = await this.allowed();
      } catch {
        allowed = true;  // the controller is away: keep trying
      }
      if (!allowed) {
        this.stop();
        this.onDenied();
        return;
      }
    }
    if (this.status !== Status.STOPPED) this.connect();
  }
}

export const Phase = Object.freeze({
  WAITING: "waiting",      // no snapshot yet on this connection
  SYNCED: "synced",        // holding revision `rev`
  RESYNCING: "resyncing",  // a snapshot was asked for; deltas are ignored until it comes
});

export const Verdict = Object.freeze({ APPLY: "apply", IGNORE: "ignore", RESYNC: "resync" });

/** The revision protocol, without I/O: what to do with each snapshot and delta. */
export class Revisions {
  constructor() {
    this.reset();
  }

  /** A new connection: its snapshot comes first. */
  reset() {
    this.rev = null;
    this.phase = Phase.WAITING;
  }

  snapshot(rev) {
    this.rev = rev ?? null;
    this.phase = Phase.SYNCED;
  }

  /** A delta from `prev` to `rev`: APPLY it (the revision is now `rev`), IGNORE it (a
   * snapshot is on its way), or RESYNC (ask for a snapshot). */
  delta(prev, rev) {
    if (this.phase === Phase.RESYNCING) return Verdict.IGNORE;
    if (this.phase === Phase.WAITING || prev !== this.rev) return this.misfit();
    this.rev = rev;
    return Verdict.APPLY;
  }

  /** The delta applied did not fit what is held: start again from a snapshot. */
  misfit() {
    this.rev = null;
    this.phase = Phase.RESYNCING;
    return Verdict.RESYNC;
  }
}

/** Pings for a ServerClock over a socket whose server answers {type: "ping", t0} with
 * {type: "pong", t0, t1, t2}: eight pings 30 ms apart (the clock keeps the lowest round
 * trip); a second later again while the clock is not precise (on a loaded machine the
 * first burst can be slow both ways), else after 10-20 s. */
export class ClockSampler {
  constructor(socket, clock) {
    this.socket = socket;
    this.clock = clock;
    this.timer = null;
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.socket.open) this.burst();  // shown again: check at once
    });
  }

  burst() {
    for (let i = 0; i < 8; i += 1) {
      this.socket.later(i * 30, () => this.socket.send({ type: "ping", t0: this.clock.local() }));
    }
    clearTimeout(this.timer);
    this.timer = this.socket.later(1000, () => {
      if (this.clock.precise) this.timer = this.socket.later(9000 + Math.random() * 10000,
        () => this.burst());
      else this.burst();
    });
  }

  /** True when `message` was a pong (and went to the clock). */
  receive(message, received) {
    if (message.type !== "pong") return false;
    this.clock.pong(message, received);
    return true;
  }
}

export class Feed {
  /**
   * @param {object} o
   * @param {() => string} o.url
   * @param {string} o.snapshot           the snapshot's message type ("state", "snapshot")
   * @param {string[]} o.deltas           the revisioned message types ("delta", "settings")
   * @param {(message: object, received: number) => void} o.onSnapshot
   * @param {(message: object, received: number) => void} o.onDelta   throws: does not fit
   * @param {(message: object, received: number) => void} [o.onMessage]  anything else
   * @param {import('./clock.js').ServerClock} [o.clock]  sampled over this socket
   * @param {(status: string, attempt: number) => void} [o.onStatus]
   * Other options go to the Socket (quietMs, allowed, onDenied).
   */
  constructor({ snapshot, deltas, onSnapshot, onDelta, onMessage = () => {}, clock = null,
    ...socket }) {
    Object.assign(this, { snapshotType: snapshot, deltaTypes: new Set(deltas), onSnapshot,
      onDelta, onMessage });
    this.revisions = new Revisions();
    this.stats = { connects: 0, snapshots: 0, deltas: 0, resyncs: 0 };
    const { onStatus = () => {} } = socket;
    this.socket = new Socket({
      ...socket,
      onMessage: (message, received) => this.receive(message, received),
      onOpen: () => {
        this.stats.connects += 1;
        this.sampler?.burst();
      },
      onStatus: (status, attempt) => {
        if (status !== Status.OPEN) this.revisions.reset();  // a new socket: snapshot first
        onStatus(status, attempt);
      },
    });
    this.clock = clock;
    this.sampler = clock ? new ClockSampler(this.socket, clock) : null;
  }

  get rev() {
    return this.revisions.rev;
  }

  get connected() {
    return this.socket.open;
  }

  start() {
    this.socket.start();
  }

  stop() {
    this.socket.stop();
  }

  send(message) {
    return this.socket.send(message);
  }

  receive(message, received) {
    if (this.sampler?.receive(message, received)) return;
    if (message.type === this.snapshotType) {
      this.revisions.snapshot(message.rev);
      this.stats.snapshots += 1;
      this.onSnapshot(message, received);
    } else if (this.deltaTypes.has(message.type)) {
      let verdict = this.revisions.delta(message.prev, message.rev);
      if (verdict === Verdict.APPLY) {
        this.stats.deltas += 1;
        try {
          this.onDelta(message, received);
        } catch {
          verdict = this.revisions.misfit();
        }
      }
      if (verdict === Verdict.RESYNC) this.resync();
    } else {
      this.onMessage(message, received);
    }
  }

  /** Ask for a snapshot (deltas wait for it). */
  resync() {
    this.stats.resyncs += 1;
    if (this.revisions.phase !== Phase.RESYNCING) this.revisions.misfit();
    this.send({ type: "resync" });
  }
}
