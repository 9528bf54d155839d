// The state websocket: a snapshot on connect, then on every change only what changed (JSON
// Patch deltas with revisions: a gap or a patch that does not fit asks for the whole state
// again), pings for the clock.
// Reconnects with backoff (250 ms doubling to 5 s, with jitter) and says so; a socket that
// goes quiet (the server pushes at least once a second) is treated as dead and replaced.

import { applyPatch } from "./patch.js";

const PING_EVERY_MS = 2000;
const QUIET_MS = 5000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;

export class Live {
  /**
   * @param {object} o
   * @param {import('./clock.js').ServerClock} o.clock
   * @param {(state: object, received: number) => void} o.onState
   * @param {(status: {connected: boolean, attempt: number}) => void} o.onStatus
   * @param {() => Promise<boolean>} o.stillAllowed  resolves false when the session is gone
   * @param {() => void} o.onAuthLost
   */
  constructor({ clock, onState, onStatus, stillAllowed, onAuthLost }) {
    Object.assign(this, { clock, onState, onStatus, stillAllowed, onAuthLost });
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timers = [];
    this.lastMessage = 0;
    this.state = null;  // the whole state as of revision `rev`
    this.rev = null;
    this.resyncing = false;
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/api/ws?delta=1`;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.ws) this.ws.close();
  }

  clearTimers() {
    for (const id of this.timers) {
      clearTimeout(id);
      clearInterval(id);
    }
    this.timers = [];
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
    this.state = null;
    this.rev = null;
    this.resyncing = false;
    // an upgrade that hangs (a half-open network) is given up on like a closed socket
    const opening = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, CONNECT_TIMEOUT_MS);
    this.timers.push(opening);
    ws.onopen = () => {
      clearTimeout(opening);
      this.attempt = 0;
      this.lastMessage = this.clock.local();
      this.onStatus({ connected: true, attempt: 0 });
      // a few quick pings for a first round-trip estimate, then one every 2 s
      for (const delay of [0, 150, 400]) this.timers.push(setTimeout(() => this.ping(), delay));
      this.timers.push(setInterval(() => {
        if (this.clock.local() - this.lastMessage > QUIET_MS) {
          ws.close();
          return;
        }
        this.ping();
      }, PING_EVERY_MS));
    };
    ws.onmessage = (event) => {
      const received = this.clock.local();
      this.lastMessage = received;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "state" && message.state) {
        this.state = message.state;
        this.rev = message.rev ?? null;
        this.resyncing = false;
        this.clock.sample(message.state.show?.now_ms, received);
        this.onState(message.state, received);
      } else if (message.type === "delta") {
        if (this.resyncing) return;  // the whole state asked for is on its way
        if (this.state === null || message.prev !== this.rev) {
          this.resync(ws);
          return;
        }
        try {
          this.state = applyPatch(this.state, message.patch);
        } catch {
          this.resync(ws);
          return;
        }
        this.rev = message.rev;
        this.clock.sample(this.state.show?.now_ms, received);
        this.onState(this.state, received);
      } else if (message.type === "pong") {
        this.clock.pong(received);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      this.clock.reset();
      if (!this.stopped) this.retry();
    };
    ws.onerror = () => {
      // onclose follows and retries
    };
  }

  // ask for the whole state again; deltas wait for it (they will not fit before it comes)
  resync(ws) {
    this.state = null;
    this.rev = null;
    this.resyncing = true;
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "resync" }));
  }

  ping() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    this.clock.pingSent();
    ws.send(JSON.stringify({ type: "ping" }));
  }

  async retry() {
    this.attempt += 1;
    this.onStatus({ connected: false, attempt: this.attempt });
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.attempt - 1));
    const delay = base * (0.5 + Math.random() / 2);
    this.timers.push(setTimeout(async () => {
      if (this.stopped) return;
      if (this.attempt > 1) {
        // a refused upgrade looks like any failure: ask whether we are still logged in
        let allowed = true;
        try {
          allowed = await this.stillAllowed();
        } catch {
          allowed = true; // the controller is away: keep trying
        }
        if (!allowed) {
          this.stopped = true;
          this.onAuthLost();
          return;
        }
      }
      if (!this.stopped) this.connect();
    }, delay));
  }
}
