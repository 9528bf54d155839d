// The server's clock, estimated over the state websocket, NTP-style but simple.
//
// Every state push carries the server's `show.now_ms`, stamped before it was sent; it arrives
// one network delay d later, so at receipt server time = now_ms + d, and
// offset = server − local = (now_ms − received) + d. The one-way delay is taken as half the
// round trip of our pings ({"type":"ping"} → {"type":"pong"}), the lowest of the recent ones.
// `now_ms − received` is a lower bound of the offset (d ≥ 0): a message held up anywhere only
// makes it smaller, so the largest of the recent samples is the least-delayed one, the one
// to keep. Clocks are drawn from `now()` = local time + offset every frame; no tick counting.

const RTT_SAMPLES = 8;
const OFFSET_SAMPLES = 16; // state pushes come at least once a second: ~16 s of samples

export function localNow() {
  return performance.timeOrigin + performance.now();
}

export class ServerClock {
  constructor(local = localNow) {
    this.local = local;
    this.rtts = [];       // the most recent round trips, ms
    this.samples = [];    // the most recent now_ms − received, ms
    this.pending = [];    // send times of pings not yet answered (answers come in order)
  }

  /** Call when a ping is sent; returns its send time. */
  pingSent() {
    const t = this.local();
    this.pending.push(t);
    if (this.pending.length > 16) this.pending.shift();
    return t;
  }

  /** Call when a pong arrives, with its receipt time. */
  pong(received = this.local()) {
    const sent = this.pending.shift();
    if (sent === undefined) return;
    this.rtts.push(received - sent);
    if (this.rtts.length > RTT_SAMPLES) this.rtts.shift();
  }

  /** The socket closed: unanswered pings will never be answered. */
  reset() {
    this.pending = [];
  }

  /** Call with a state push's `show.now_ms` and the local time it was received. */
  sample(serverNowMs, received = this.local()) {
    if (!Number.isFinite(serverNowMs)) return;
    this.samples.push(serverNowMs - received);
    if (this.samples.length > OFFSET_SAMPLES) this.samples.shift();
  }

  /** The lowest recent round trip in ms, or null before the first pong. */
  rtt() {
    return this.rtts.length ? Math.min(...this.rtts) : null;
  }

  /** Server time minus local time, ms (0 until the first state push). */
  offset() {
    if (!this.samples.length) return 0;
    return Math.max(...this.samples) + (this.rtt() ?? 0) / 2;
  }

  /** The server's time now, epoch ms. */
  now() {
    return this.local() + this.offset();
  }
}
