// showctl overlays: the template side API (an ES module every template imports).
//
// - `Graphic`: an OGraf-style web component. `load`, `playAction`, `updateAction({data})`,
//   `stopAction`, `customAction`, `dispose`, each resolving when its animation has ended and
//   honouring `skipAnimation`. Templates subclass it and fill their text with textContent only.
// - CasparCG / SPX globals on every page: `update(json)`, `play()`, `next()`, `stop()`.
// - `HubLink`: the page's websocket to the controller (/overlays/ws) on the library every
//   page shares (/lib/socket.js: a snapshot, then deltas with revisions, a gap asks for a
//   snapshot again, reconnects by itself), and `clock`, the controller's clock estimated
//   over it (/lib/clock.js, NTP-style: the error is at most rtt/2), so clocks drawn every
//   frame from an absolute target agree on every page.
// - A message is applied as it arrives (parsed once, no timer between) and the page draws it
//   in the next frame. Only a graphic that draws every frame (its own `frame(now)`: the
//   countdown, the ticker) or a traced page runs a frame loop: an idle loop would hold every
//   other page to the display's frame grid, half a frame later on average.
// - A legacy template that defines its own update/play/next/stop globals is driven by the hub
//   when it loads `/overlays/lib/graphic.js?drive=<template>`.
//
// Page options (query string): key (read key), preview=1 (the preview bus),
// skipAnimation=1 (cut in and out), variant=…, hub=0 (no controller: a CasparCG/SPX host
// drives the globals), trace=1 (keep a ring of drawn frames in window.showctl.frames).

const query = new URLSearchParams(location.search);
const truthy = (v) => v === '1' || v === 'true' || v === '';

export const options = {
  key: query.get('key') || '',
  preview: truthy(query.get('preview')),
  skipAnimation: truthy(query.get('skipAnimation') ?? query.get('skip') ?? 'no'),
  variant: query.get('variant') || '',
  hub: query.get('hub') !== '0' && location.protocol.startsWith('http'),
  trace: query.has('trace'),
};

function cssNumber(name, fallback) {
  const v = parseFloat(getComputedStyle(document.documentElement).getPropertyValue(name));
  return Number.isFinite(v) ? v : fallback;
}
function cssText(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export const motion = {
  get inMs() { return cssNumber('--in-ms', 600); },
  get outMs() { return cssNumber('--out-ms', 400); },
  get staggerMs() { return cssNumber('--stagger-ms', 90); },
  get easeOut() { return cssText('--ease-out', 'cubic-bezier(0.22, 1, 0.36, 1)'); },
  get easeIn() { return cssText('--ease-in', 'cubic-bezier(0.64, 0, 0.78, 0)'); },
};

// ---------------------------------------------------------------- the hub link

// The client and the clock come from the controller (/lib/). A page a CasparCG/SPX host
// loads from elsewhere (hub=0, file:) has no controller: it runs on its own clock.
const lib = options.hub
  ? Object.assign({}, ...await Promise.all([import('/lib/clock.js'), import('/lib/socket.js')]))
  : null;
const ownClock = () => performance.timeOrigin + performance.now();
export const clock = lib ? new lib.ServerClock()
  : { local: ownClock, now: ownClock, offset: 0, rtt: null, synced: false, precise: false };
export const settings = { delay_ms: 0 };

const HIDDEN = Object.freeze({ visible: false, data: {}, step: 0, since_ms: 0, rev: 0 });

// The page's websocket to the controller (/overlays/ws) on the shared client: the graphic's
// state on this page's bus from each snapshot and delta, the settings, the clock's pings.
export class HubLink {
  constructor(template, { onState = () => {}, onSettings = () => {}, onStatus = () => {} } = {}) {
    this.template = template;
    this.bus = options.preview ? 'preview' : 'program';
    this.received = null;  // when the last message arrived (page clock): the trace of a play
    const age = (m, state) => (m.server_ms ?? state.since_ms) - state.since_ms;
    this.feed = new lib.Feed({
      url: () => lib.wsUrl('/overlays/ws', { key: options.key, template, bus: this.bus }),
      snapshot: 'snapshot',
      deltas: ['delta', 'settings'],
      onSnapshot: (m, received) => {
        this.received = received;
        onSettings(m.settings || {});
        const state = (m[this.bus] || {})[template] || HIDDEN;
        onState(state, { age: age(m, state) });
      },
      onDelta: (m, received) => {
        this.received = received;
        if (m.type === 'settings') onSettings(m.settings || {});
        else if (m.bus === this.bus && m.graphic === template) {
          onState(m.state, { age: age(m, m.state) });
        }
      },
      clock,
      onStatus,
    });
  }

  get rev() { return this.feed.rev; }
  get connected() { return this.feed.connected; }
  get stats() { return this.feed.stats; }
  start() { this.feed.start(); }
}

// ---------------------------------------------------------------- following the hub's state

const sameData = (a, b) => JSON.stringify(a || {}) === JSON.stringify(b || {});

// Brings a target (a Graphic, or a legacy page's globals) to the state the hub wants,
// one action at a time, each awaited, always towards the newest wanted state.
export class Follower {
  constructor(target) {
    this.target = target;
    this.have = HIDDEN;
    this.want = null;
    this.age = 0;
    this.busy = false;
  }

  follow(state, { age = 0 } = {}) {
    this.want = { ...HIDDEN, ...state };
    this.age = age;
    if (this.target.onStateInfo) this.target.onStateInfo(this.want);
    this.pump();
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let i = 0; i < 50 && this.want; i += 1) {
        const want = this.want;
        const have = this.have;
        const same = want.visible === have.visible && want.step === have.step
          && sameData(want.data, have.data);
        if (same) { this.have = want; if (this.want === want) break; continue; }
        // joined late (a reload, a reconnect): the animation would be over by now
        const skip = options.skipAnimation || this.age > motion.inMs;
        if (!want.visible) {
          if (have.visible) await this.target.stopAction({ skipAnimation: skip });
        } else if (!have.visible) {
          await this.target.updateAction({ data: want.data, skipAnimation: true });
          await this.target.playAction({ skipAnimation: skip });
          if (want.step) await this.target.playAction({ goto: want.step, skipAnimation: skip });
        } else {
          if (!sameData(want.data, have.data)) {
            await this.target.updateAction({ data: want.data, skipAnimation: options.skipAnimation });
          }
          if (want.step !== have.step) {
            await this.target.playAction({ goto: want.step, skipAnimation: options.skipAnimation });
          }
        }
        this.have = want;
      }
    } catch (e) {
      console.error('showctl: a graphic action failed', e);
    } finally {
      this.busy = false;
    }
  }
}

// ---------------------------------------------------------------- the web component

const KEYFRAME_OPTIONS = new Set(['offset', 'easing', 'composite']);
const cssName = (prop) => (prop === 'cssFloat' ? 'float'
  : prop.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));

export class Graphic extends HTMLElement {
  static steps = 1;

  constructor() {
    super();
    this.data = {};
    this.visible = false;
    this.step = 0;
    this.since = 0;
  }

  // --- hooks for templates
  render(data) {}                         // fill the DOM from data: textContent only
  parts() { return [...this.querySelectorAll('[data-part]')]; }  // animated, in order
  inFrames(el, i) {
    return [{ opacity: 0, transform: 'translateY(24px)' }, { opacity: 1, transform: 'none' }];
  }
  outFrames(el, i) { return [{ opacity: 0, transform: 'translateY(12px)' }]; }
  async showStep(step, skip) {}
  frame(now) {}                           // every animation frame, with the controller's time
  onStateInfo(state) { this.since = state.since_ms; }

  // --- OGraf actions
  async load({ data = {}, skipAnimation } = {}) {
    await this.updateAction({ data, skipAnimation: true });
    return { statusCode: 200 };
  }

  async updateAction({ data = {}, skipAnimation } = {}) {
    this.data = { ...(data || {}) };
    this.render(this.data);
    const skip = skipAnimation ?? options.skipAnimation;
    if (this.visible && !skip) {
      const anims = this.parts().map((el) => el.animate(
        [{ opacity: 0.35 }, { opacity: 1 }],
        { duration: 250, easing: motion.easeOut, composite: 'replace' }));
      await Promise.all(anims.map((a) => a.finished.catch(() => {})));
    }
    return { statusCode: 200 };
  }

  async playAction({ skipAnimation, goto, delta } = {}) {
    const skip = skipAnimation ?? options.skipAnimation;
    if (!this.visible) {
      this.visible = true;
      this.step = 0;
      if (!showctl.link) this.since = clock.now();  // driven by a host, not the hub
      this.showStep(0, true);
      this.classList.add('on');
      markFirstFrame();
      await this.run('in', skip);
    }
    const steps = this.constructor.steps;
    let target = goto ?? this.step + (delta || 0);
    target = Math.max(0, Math.min(steps - 1, target));
    if (target !== this.step) {
      this.step = target;
      await this.showStep(target, skip);
    }
    return { statusCode: 200, currentStep: this.step };
  }

  async stopAction({ skipAnimation } = {}) {
    const skip = skipAnimation ?? options.skipAnimation;
    if (this.visible) {
      this.visible = false;
      await this.run('out', skip);
      if (!this.visible) {  // (not played again meanwhile)
        this.classList.remove('on');
        for (const el of this.parts()) {
          for (const a of el.getAnimations()) a.cancel();
          el.style.removeProperty('opacity');
          el.style.removeProperty('transform');
        }
      }
    }
    return { statusCode: 200 };
  }

  async customAction({ id } = {}) { return { statusCode: 404, statusMessage: `no action ${id}` }; }
  async dispose() { this.remove(); return { statusCode: 200 }; }

  async run(kind, skip) {
    const parts = this.parts();
    if (skip) {
      this.cut(parts);
      return;
    }
    const duration = kind === 'in' ? motion.inMs : motion.outMs;
    const stagger = motion.staggerMs;
    const easing = kind === 'in' ? motion.easeOut : motion.easeIn;
    for (const el of parts) {         // from where a running animation is now
      for (const a of el.getAnimations()) {
        try { a.commitStyles(); } catch (e) { /* not rendered */ }
        a.cancel();
      }
    }
    const anims = parts.map((el, i) => el.animate(
      kind === 'in' ? this.inFrames(el, i) : this.outFrames(el, i),
      {
        duration,
        delay: kind === 'in' ? i * stagger : (parts.length - 1 - i) * stagger * 0.5,
        easing,
        fill: 'both',
      }));
    await Promise.all(anims.map((a) => a.finished.catch(() => {})));
  }

  // A cut (skipAnimation): no animation to build and run; every part drops what an animation
  // left on it and stands in its own style, where the in-animation ends (out: the caller
  // hides the graphic).
  cut(parts) {
    parts.forEach((el, i) => {
      for (const a of el.getAnimations()) a.cancel();
      for (const frame of [...this.inFrames(el, i), ...this.outFrames(el, i)]) {
        for (const prop of Object.keys(frame)) {
          if (!KEYFRAME_OPTIONS.has(prop)) el.style.removeProperty(cssName(prop));
        }
      }
    });
  }
}

// ---------------------------------------------------------------- text helpers

// Set text safely: data never becomes markup.
export function setText(el, value) {
  const text = value == null ? '' : String(value);
  el.textContent = text;
  el.hidden = text === '';
  return text !== '';
}

// Shrink `el`'s font until its content fits its box (width, and height when `lines`),
// from `max` down to `min` pixels. Overflow is clipped by CSS in any case.
export function fit(el, max, min, { step = 2 } = {}) {
  let size = max;
  el.style.fontSize = `${size}px`;
  while (size > min && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) {
    size -= step;
    el.style.fontSize = `${size}px`;
  }
  return size;
}

// CasparCG sends JSON or <templateData> XML; SPX and scripts send objects or JSON.
export function parseData(raw) {
  if (raw && typeof raw === 'object') return raw;
  const text = String(raw ?? '').trim();
  if (!text) return {};
  if (text.startsWith('<')) {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    const out = {};
    for (const c of doc.querySelectorAll('componentData')) {
      const d = c.querySelector('data');
      if (c.id && d) out[c.id] = d.getAttribute('value') ?? '';
    }
    return out;
  }
  return JSON.parse(text);
}

// ---------------------------------------------------------------- the page

const drawn = new Set();  // the elements that draw every frame
let ticking = false;
const showctl = (window.showctl = window.showctl || {
  clock, settings, options, frames: [], plays: [], link: null, element: null,
});

// A play's times on the controller's clock: the message that asked for it arrived
// (`received`, null when a host played it), it was applied (`requested`), its first frame.
function markFirstFrame() {
  const requested = clock.now();
  const arrived = showctl.link?.received;
  const received = arrived == null ? null : arrived + clock.offset;
  requestAnimationFrame(() => {
    showctl.plays.push({ received, requested, frame: clock.now(), local: clock.local() });
    if (showctl.plays.length > 100) showctl.plays.shift();
  });
}

function tick() {
  const now = clock.now();
  for (const el of drawn) {
    try { el.frame(now); } catch (e) { console.error(e); }
  }
  if (options.trace && showctl.element && showctl.element.lastDraw) {
    showctl.frames.push({ local: clock.local(), server: now, ...showctl.element.lastDraw });
    if (showctl.frames.length > 600) showctl.frames.shift();
  }
  requestAnimationFrame(tick);
}

function drawEveryFrame(el) {
  drawn.add(el);
  if (!ticking) {
    ticking = true;
    requestAnimationFrame(tick);
  }
}

function installGlobals(target) {
  window.update = (raw) => target.updateAction({ data: parseData(raw) });
  window.play = () => target.playAction({});
  window.next = () => target.playAction({ delta: 1 });
  window.stop = () => target.stopAction({});
}

// Define a template's element, put one on the page (if the page has none), install the
// CasparCG/SPX globals and follow the hub.
export function define(template, cls) {
  const tag = `showctl-${template}`;
  if (!customElements.get(tag)) customElements.define(tag, cls);
  const start = () => {
    let el = document.querySelector(tag);
    if (!el) { el = document.createElement(tag); document.body.append(el); }
    if (el.frame !== Graphic.prototype.frame || options.trace) drawEveryFrame(el);
    showctl.element = el;
    showctl.template = template;
    installGlobals(el);
    follow(template, el);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}

function follow(template, target) {
  if (!options.hub) return;
  const follower = new Follower(target);
  showctl.follower = follower;
  showctl.link = new HubLink(template, {
    onState: (state, info) => follower.follow(state, info),
    onSettings: (s) => {
      Object.assign(settings, s);
      if (target.onSettings) target.onSettings(settings);
    },
    onStatus: (status) => document.documentElement.setAttribute('data-hub', status),
  });
  showctl.link.start();
}

// A legacy CasparCG/SPX template (its own update/play/next/stop globals) driven by the hub.
class LegacyTarget {
  constructor() { this.visible = false; this.step = 0; }
  async updateAction({ data }) { window.update && window.update(JSON.stringify(data)); return { statusCode: 200 }; }
  async playAction({ goto, delta } = {}) {
    if (!this.visible) { this.visible = true; this.step = 0; window.play && window.play(); return { statusCode: 200 }; }
    const target = goto ?? this.step + (delta || 0);
    while (this.step < target) { this.step += 1; window.next && window.next(); }
    return { statusCode: 200 };
  }
  async stopAction() { if (this.visible) { this.visible = false; window.stop && window.stop(); } return { statusCode: 200 }; }
}

const drive = new URL(import.meta.url).searchParams.get('drive');
if (drive) {
  const begin = () => follow(drive, new LegacyTarget());
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', begin);
  else begin();
}
