// Fact card: title, fact and an optional image. Step 2 (next) turns the fact to Chinese.
import { Graphic, define, fit, setText } from './lib/graphic.js';

export default class FactCard extends Graphic {
  static steps = 2;

  render(data) {
    const $ = (s) => this.querySelector(s);
    setText($('.title'), data.title);
    setText($('.title-zh'), data.title_zh);
    setText($('.fact'), data.fact);
    $('.fact-zh').textContent = data.fact_zh || '';
    const img = $('.image');
    if (data.image) {
      img.onerror = () => { img.hidden = true; };
      img.src = data.image;        // a URL property: never markup
      img.hidden = false;
    } else {
      img.removeAttribute('src');
      img.hidden = true;
    }
    $('.fact-box').hidden = !data.fact && !data.fact_zh;
    fit($('.title'), 40, 28);
    this.showStep(this.step, true);
  }

  async showStep(step, skip) {
    const $ = (s) => this.querySelector(s);
    const zh = step >= 1 && Boolean(this.data.fact_zh);
    $('.fact').hidden = zh || !this.data.fact;
    $('.fact-zh').hidden = !zh;
    fit(zh ? $('.fact-zh') : $('.fact'), zh ? 32 : 30, 20, { step: 1 });
    if (!skip) {
      await $('.fact-box').animate([{ opacity: 0.2 }, { opacity: 1 }],
        { duration: 300, easing: 'ease-out' }).finished.catch(() => {});
    }
  }

  inFrames() {
    return [{ opacity: 0, transform: 'translateX(80px)' }, { opacity: 1, transform: 'none' }];
  }

  outFrames() { return [{ opacity: 0, transform: 'translateX(60px)' }]; }
}

define('fact-card', FactCard);
