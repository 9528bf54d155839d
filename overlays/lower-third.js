// Lower third: name and role, English and Chinese. Long names shrink; long roles wrap to
// two lines, then shrink; nothing leaves the graphics-safe area (the box clips).
import { Graphic, define, setText } from './lib/graphic.js';

export default class LowerThird extends Graphic {
  render(data) {
    const $ = (s) => this.querySelector(s);
    setText($('.name'), data.name);
    setText($('.name-zh'), data.name_zh);
    const role = setText($('.role'), data.role);
    const roleZh = setText($('.role-zh'), data.role_zh);
    $('.role-bar').hidden = !role && !roleZh;
    // the name bar: one line, shrinking to fit the safe width
    const bar = $('.name-bar');
    let size = 56;
    bar.style.fontSize = `${size}px`;
    const name = $('.name');
    while (size > 34 && (name.scrollWidth > name.clientWidth + 1
                         || bar.scrollWidth > bar.clientWidth + 1)) {
      size -= 2;
      bar.style.fontSize = `${size}px`;
    }
    // the role lines: two lines each at most, shrinking until the bar's height holds them
    for (const el of [$('.role'), $('.role-zh')]) el.style.fontSize = '30px';
    const roleBar = $('.role-bar');
    let rs = 30;
    while (rs > 20 && roleBar.scrollHeight > roleBar.clientHeight + 1) {
      rs -= 1;
      for (const el of [$('.role'), $('.role-zh')]) el.style.fontSize = `${rs}px`;
    }
  }

  inFrames(el, i) {
    return [
      { opacity: 0, transform: 'translateX(-60px)', clipPath: 'inset(0 100% 0 0)' },
      { opacity: 1, transform: 'none', clipPath: 'inset(0 0 0 0)' },
    ];
  }

  outFrames() {
    return [{ opacity: 0, transform: 'translateX(-40px)', clipPath: 'inset(0 100% 0 0)' }];
  }
}

define('lower-third', LowerThird);
