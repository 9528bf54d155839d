// Ticker: a crawl of short items. Its position comes from the time since the play began on
// the controller's clock, so every page shows the same text at the same place.
import { Graphic, define, setText } from './lib/graphic.js';

export default class Ticker extends Graphic {
  render(data) {
    setText(this.querySelector('.tag'), data.label);
    this.speed = Number(data.speed) || 120;
    const track = this.querySelector('.track');
    const copy = document.createElement('div');
    copy.className = 'copy';
    for (const item of data.items || []) {
      const span = document.createElement('span');
      span.className = 'item';
      span.lang = /[\u3400-\u9fff]/.test(item) ? 'zh-CN' : 'en';
      span.textContent = String(item);
      const sep = document.createElement('span');
      sep.className = 'sep';
      sep.textContent = '◆';
      copy.append(span, sep);
    }
    track.replaceChildren(copy);
    const band = this.querySelector('.band');
    this.copyWidth = Math.max(1, copy.getBoundingClientRect().width);
    this.bandWidth = band.clientWidth;
    const copies = Math.ceil(this.bandWidth / this.copyWidth) + 1;
    for (let i = 1; i < copies; i += 1) track.append(copy.cloneNode(true));
  }

  frame(now) {
    if (!this.classList.contains('on') || !this.copyWidth) return;
    const travelled = Math.max(0, now - this.since) * this.speed / 1000;
    const x = travelled < this.bandWidth
      ? this.bandWidth - travelled
      : -((travelled - this.bandWidth) % this.copyWidth);
    this.querySelector('.track').style.transform = `translateX(${x.toFixed(1)}px)`;
    this.lastDraw = { x };
  }

  inFrames() {
    return [{ opacity: 0, transform: 'translateY(64px)' }, { opacity: 1, transform: 'none' }];
  }

  outFrames() { return [{ opacity: 0, transform: 'translateY(64px)' }]; }
}

define('ticker', Ticker);
