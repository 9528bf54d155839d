// The controller's clock, estimated NTP-style over a page's websocket (one algorithm for
// every page: console, overlays, guest).
//
// A ping carries the page's send time t0; the pong carries t0 back with t1 (the controller
// received it) and t2 (it answered); t3 is when the page received the pong. Then
//   offset θ = ((t1 − t0) + (t2 − t3)) / 2   (controller − local)
//   round trip = (t3 − t0) − (t2 − t1)
// and the true offset lies within θ ± rtt/2 whatever the two one-way delays were. Of the
// last `window` samples the one with the lowest round trip is kept: a sample held up anywhere
// (a busy loop, a slow network) only has a larger bound. `precise` says the best bound is
// well inside a frame; until then the socket keeps sampling (see socket.js `ClockSampler`).
// Clocks are drawn from `now()` every frame from absolute targets: no tick counting.

/** The page's own clock, epoch ms (sub-millisecond, monotonic within the page). */
export function localNow() {
  return performance.timeOrigin + performance.now();
}

export class ServerClock {
  // a round trip under this bounds the offset's error to 5 ms, well inside a frame
  static PRECISE_RTT_MS = 10;

  constructor({ window = 16, local = localNow } = {}) {
    this.window = window;
    this.local = local;
    this.samples = [];    // {rtt, theta, at}: the most recent, oldest first
    this.offset = 0;      // controller time − local time, ms (0 until the first sample)
    this.rtt = null;      // the round trip of the sample in use, ms
  }

  /** The controller's time now, epoch ms. */
  now() {
    return this.local() + this.offset;
  }

  /** Whether any sample has been taken. */
  get synced() {
    return this.rtt !== null;
  }

  /** Whether the offset is known to within PRECISE_RTT_MS / 2. */
  get precise() {
    return this.rtt !== null && this.rtt <= ServerClock.PRECISE_RTT_MS;
  }

  /** One ping's four instants (see above); a sample that cannot be right is dropped. */
  add(t0, t1, t2, t3 = this.local()) {
    const rtt = (t3 - t0) - (t2 - t1);
    const theta = ((t1 - t0) + (t2 - t3)) / 2;
    if (!Number.isFinite(rtt) || !Number.isFinite(theta) || rtt < 0) return false;
    this.samples.push({ rtt, theta, at: t3 });
    if (this.samples.length > this.window) this.samples.shift();
    let best = this.samples[0];
    for (const s of this.samples) if (s.rtt < best.rtt) best = s;
    this.offset = best.theta;
    this.rtt = best.rtt;
    return true;
  }

  /** A pong message ({t0, t1, t2}) received at t3. */
  pong(message, t3 = this.local()) {
    return this.add(message.t0, message.t1, message.t2, t3);
  }
}
