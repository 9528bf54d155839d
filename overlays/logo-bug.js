// Logo bug: the show's mark, top right of the graphics-safe area.
import { Graphic, define, setText } from './lib/graphic.js';

export default class LogoBug extends Graphic {
  render(data) {
    setText(this.querySelector('.text-zh'), data.text_zh ?? '科学跨年夜');
    setText(this.querySelector('.text'), data.text ?? "New Year's Eve of Science");
  }

  inFrames() { return [{ opacity: 0, transform: 'translateY(-16px)' }, { opacity: 1, transform: 'none' }]; }
  outFrames() { return [{ opacity: 0 }]; }
}

define('logo-bug', LogoBug);
