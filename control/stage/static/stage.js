// What both hosts' screens share: the page's options from its URL, the stage websocket
// (the view, the clock, the scroll) and the way clocks are written. The view's instants are
// drawn every frame against the controller's clock (control/lib/clock.js), so two screens
// show the same second at the same time; the server sends a new view only when the show
// changes (control/stage/hub.py).

import { Feed, Status, wsUrl } from "/lib/socket.js";
import { ServerClock } from "/lib/clock.js";
import { initI18n, setLang } from "/lib/i18n.js";

export const params = new URLSearchParams(location.search);

/** The page's language from ?lang= (zh or en), else the browser's; then its words. */
export async function startI18n() {
  await initI18n("/stage/static/");
  const wanted = params.get("lang");
  if (wanted === "zh" || wanted === "en") setLang(wanted, { remember: false });
}

/** The stage websocket for a `screen` (presenter | prompter). */
export function connect(screen, { onView, onMessage = () => {}, onStatus = () => {} }) {
  const clock = new ServerClock();
  const feed = new Feed({
    url: () => wsUrl("/stage/ws", { key: params.get("key"), screen }),
    snapshot: "state",
    deltas: [],
    clock,
    quietMs: 40000,
    onSnapshot: (message) => onView(message.view, message.scroll, message.rev),
    onDelta: () => {},
    onMessage,
    onStatus: (status) => {
      document.body.dataset.link = status;
      onStatus(status);
    },
  });
  feed.start();
  return { feed, clock };
}

export { Status };

/** Seconds as a clock: `m:ss`, `h:mm:ss` past an hour. */
export function clockText(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** A segment's clock at `now`: time left (rounded up, as a countdown reads) or, past its
 * end, time over (rounded down) and the colour band, by the rule of control/show/stage.py. */
export function segmentClock(onAir, now) {
  if (!onAir || onAir.end_ms === null) return { text: "", band: "normal", over: false };
  const left = onAir.end_ms - now;
  if (left < 0) return { text: `+${clockText(-left / 1000)}`, band: "over", over: true };
  let band = "normal";
  if (now >= onAir.danger_at_ms) band = "danger";
  else if (now >= onAir.warning_at_ms) band = "warning";
  return { text: clockText(Math.ceil(left / 1000)), band, over: false };
}

/** The wall clock in the show's zone, HH:MM:SS. */
export function wallText(now, timezone) {
  try {
    return new Intl.DateTimeFormat("en-GB", { timeZone: timezone, hour: "2-digit",
      minute: "2-digit", second: "2-digit", hour12: false }).format(new Date(now));
  } catch {
    return new Date(now).toISOString().slice(11, 19);
  }
}

/** Set an element's text only when it changed (every frame calls this). */
export function put(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

/** The title in the page's language. */
export function titleOf(item, lang) {
  if (!item) return "";
  return (lang === "zh" && item.title_zh) || item.title;
}
