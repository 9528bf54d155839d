// On-air tally: inside OBS, on while this browser source is on program (OBS's own
// obsSourceActiveChanged event: a free tally); outside OBS, while the hub plays it.
import { Graphic, define, setText } from './lib/graphic.js';

export default class Tally extends Graphic {
  connectedCallback() {
    this.obs = Boolean(window.obsstudio);
    if (this.obs) {
      window.addEventListener('obsSourceActiveChanged', (event) => {
        const active = Boolean(event.detail && event.detail.active);
        if (active) this.playAction({ fromObs: true }); else this.stopAction({ fromObs: true });
      });
    }
  }

  // inside OBS only OBS says whether this source is on air; the hub still sets the label
  async playAction(o = {}) {
    return this.obs && !o.fromObs ? { statusCode: 200 } : super.playAction(o);
  }

  async stopAction(o = {}) {
    return this.obs && !o.fromObs ? { statusCode: 200 } : super.stopAction(o);
  }

  render(data) { setText(this.querySelector('.label'), data.label || 'ON AIR'); }

  inFrames() { return [{ opacity: 0 }, { opacity: 1 }]; }
  outFrames() { return [{ opacity: 0 }]; }
}

define('tally', Tally);
