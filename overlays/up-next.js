// Up next: the next segment's title and guest (a cue without data shows the rundown's next).
import { Graphic, define, fit, setText } from './lib/graphic.js';

export default class UpNext extends Graphic {
  render(data) {
    const $ = (s) => this.querySelector(s);
    setText($('.title'), data.title);
    setText($('.title-zh'), data.title_zh);
    const at = setText($('.at'), data.at);
    const guest = setText($('.guest'), data.guest);
    const guestZh = setText($('.guest-zh'), data.guest_zh);
    $('.meta').hidden = !at && !guest && !guestZh;
    fit($('.title'), 42, 28);
  }

  inFrames() {
    return [{ opacity: 0, transform: 'translateX(60px)' }, { opacity: 1, transform: 'none' }];
  }

  outFrames() { return [{ opacity: 0, transform: 'translateX(40px)' }]; }
}

define('up-next', UpNext);
