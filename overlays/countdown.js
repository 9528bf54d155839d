// Midnight countdown: drawn every frame from an absolute target on the controller's clock
// (never by counting ticks: a page hidden and shown again, or two pages side by side, show
// the same second). The broadcast delay moves zero earlier so it lands at the viewers'
// midnight. Last ten seconds: big, gold, a pulse on each second; then the label.
import { Graphic, define, options, setText, settings } from './lib/graphic.js';

const pad = (n) => String(n).padStart(2, '0');

export function formatClock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

export default class Countdown extends Graphic {
  connectedCallback() {
    if (options.variant) document.documentElement.dataset.variant = options.variant;
    this.corner = options.variant === 'corner';
    this.digits = this.querySelector('.digits');
    this.burst = this.querySelector('.burst');
    this.text = null;
    this.phase = null;
    this.target = NaN;
    this.lastDraw = null;
  }

  render(data) {
    this.target = Date.parse(data.target);
    setText(this.querySelector('.caption-en'), data.caption);
    setText(this.querySelector('.caption-zh'), data.caption_zh);
    const label = setText(this.querySelector('.label'), data.label);
    const labelZh = setText(this.querySelector('.label-zh'), data.label_zh);
    if (!label && !labelZh) setText(this.querySelector('.label'), this.corner ? '00:00' : '0');
    this.text = null;
  }

  parts() { return [...this.querySelectorAll('[data-part], .done')]; }

  inFrames(el, i) {
    return [{ opacity: 0, transform: 'scale(0.92)' }, { opacity: 1, transform: 'none' }];
  }

  outFrames() { return [{ opacity: 0, transform: 'scale(1.04)' }]; }

  frame(now) {
    if (!this.classList.contains('on') || !Number.isFinite(this.target)) {
      this.lastDraw = null;
      return;
    }
    const remaining = this.target - (settings.delay_ms || 0) - now;
    let phase;
    let text;
    if (remaining > 0) {
      const s = Math.ceil(remaining / 1000);
      phase = s <= 10 ? 'final' : 'counting';
      text = phase === 'final' && !this.corner ? String(s) : formatClock(s);
    } else {
      phase = 'done';
      text = '';
    }
    if (phase !== this.phase) {
      this.phase = phase;
      document.documentElement.dataset.phase = phase;
    }
    if (text !== this.text) {
      this.text = text;
      this.digits.textContent = text;
      this.digits.classList.toggle('long', text.length > 8);
    }
    if (phase === 'final' && !this.corner) {
      // a pulse on each second, from the absolute time: every page pulses together
      const frac = (remaining % 1000) / 1000;          // 1 at the tick, 0 before the next
      this.digits.style.transform = `scale(${(1 + 0.16 * frac ** 3).toFixed(4)})`;
    } else if (this.digits.style.transform) {
      this.digits.style.transform = '';
    }
    if (phase === 'done' && !this.corner) {
      const t = Math.min(1, -remaining / 700);
      const ease = 1 - (1 - t) ** 3;
      this.burst.style.transform = `scale(${(0.6 + 0.4 * ease).toFixed(4)})`;
    }
    this.lastDraw = { remaining, text: phase === 'done' ? 'done' : text, phase };
  }
}

define('countdown', Countdown);
