// The state websocket (`/api/ws?delta=1`, docs/api.md): the whole state once, then only what
// changed as JSON Patch deltas with revisions, on the shared client (/lib/socket.js: backoff,
// resync on a gap or a patch that does not fit, the clock's pings). The controller pushes at
// least once a second, so a socket quiet for 5 s is dead and is replaced.

import { applyPatch } from "/lib/patch.js";
import { Feed, Status, wsUrl } from "/lib/socket.js";

const QUIET_MS = 5000;

export class Live {
  /**
   * @param {object} o
   * @param {import('/lib/clock.js').ServerClock} o.clock
   * @param {(state: object, received: number) => void} o.onState
   * @param {(status: {connected: boolean, attempt: number}) => void} o.onStatus
   * @param {() => Promise<boolean>} o.stillAllowed  resolves false when the session is gone
   * @param {() => void} o.onAuthLost
   */
  constructor({ clock, onState, onStatus, stillAllowed, onAuthLost }) {
    this.state = null;  // the whole state as of the feed's revision
    this.feed = new Feed({
      url: () => wsUrl("/api/ws", { delta: "1" }),
      snapshot: "state",
      deltas: ["delta"],
      onSnapshot: (message, received) => {
        if (!message.state) return;
        this.state = message.state;
        onState(this.state, received);
      },
      onDelta: (message, received) => {
        this.state = applyPatch(this.state, message.patch);  // throws: resync
        onState(this.state, received);
      },
      clock,
      quietMs: QUIET_MS,
      onStatus: (status, attempt) => onStatus({ connected: status === Status.OPEN, attempt }),
      allowed: stillAllowed,
      onDenied: onAuthLost,
    });
  }

  start() {
    this.feed.start();
  }

  stop() {
    this.feed.stop();
  }
}
