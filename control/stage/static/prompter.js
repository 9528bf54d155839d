// The prompter (/prompter): the segment on air's script, scrolling; it changes by itself on
// a take. Any number of screens follow the operator's position, relayed by the controller
// (control/stage/hub.py): the source line at the marker and how far into it, so screens of
// any size, font or mirroring show the same words at the marker. The operator (the
// prompter token, or the director's console session) scrolls with the mouse wheel and the
// keys: arrows, Page Up/Down, Home, space (auto-scroll; + and - change its speed).
// Options, in the URL and on the page: ?key=, ?lang=zh|en, ?mirror=1, ?size=PX, ?marker=PCT
// (0 hides it), ?operate=1 (with #token=TOKEN, kept in this tab only).

import { t, lang, onLangChange, translate } from "/lib/i18n.js";
import { clockText, connect, params, put, segmentClock, startI18n, titleOf }
  from "/stage/static/stage.js";

const $ = (id) => document.getElementById(id);
const scroller = $("scroller");
const TOKEN_KEY = "showctl.prompter.token";

const options = {
  mirror: params.get("mirror") === "1",
  size: Math.min(200, Math.max(16, Number(params.get("size")) || 64)),
  marker: Math.min(90, Math.max(0, params.has("marker") ? Number(params.get("marker")) || 0 : 35)),
};
let view = null;
let feed = null;
let clock = null;
let scriptId = null;
let lines = [];
let position = { line: 0, frac: 0 };  // where the script is, at the marker
let operator = false;
let sent = null;          // the position last sent (operator)
let auto = 0;             // auto-scroll, px per second (operator)
let lastFrame = null;

function applyOptions() {
  document.body.classList.toggle("mirror", options.mirror);
  document.body.classList.toggle("no-marker", options.marker === 0);
  document.documentElement.style.setProperty("--size", `${options.size}px`);
  $("marker").style.top = `${markerY()}px`;
  const url = new URL(location.href);
  url.searchParams.set("mirror", options.mirror ? "1" : "0");
  url.searchParams.set("size", String(options.size));
  url.searchParams.set("marker", String(options.marker));
  history.replaceState(null, "", url);  // the URL says what the page shows
  show(position);
}

function markerY() {
  return innerHeight * ((options.marker || 35) / 100);
}

function renderScript() {
  const script = view && view.script;
  const box = $("script");
  box.replaceChildren();
  lines = [];
  if (!script) return;
  const heading = document.createElement("p");
  heading.className = "heading";
  heading.textContent = (script.on_air ? "" : `${t("prompter.next")}: `) + titleOf(script, lang());
  box.append(heading);
  const text = (lang() === "zh" ? script.zh || script.en : script.en || script.zh);
  for (const line of (text || t("prompter.no_script")).split("\n")) {
    const p = document.createElement("p");
    p.textContent = line;
    box.append(p);
    lines.push(p);
  }
}

/** Scroll so that `pos` sits at the marker. */
function show(pos) {
  position = pos;
  const p = lines[Math.min(pos.line, lines.length - 1)];
  if (!p) return;
  scroller.scrollTop = p.offsetTop + pos.frac * p.offsetHeight - markerY();
}

/** The position at the marker now. */
function read() {
  const y = scroller.scrollTop + markerY();
  let line = 0;
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i].offsetTop <= y) line = i;
    else break;
  }
  const p = lines[line];
  if (!p) return { line: 0, frac: 0 };
  const frac = Math.min(1, Math.max(0, (y - p.offsetTop) / Math.max(1, p.offsetHeight)));
  return { line, frac: Math.round(frac * 1e4) / 1e4 };
}

function onView(v, scroll) {
  view = v;
  const id = v.script ? v.script.id : null;
  const fresh = id !== scriptId;
  scriptId = id;
  renderScript();
  put($("tally"), t(`tally.${v.tally}`));
  $("tally").dataset.tally = v.tally;
  put($("seg-title"), v.on_air ? titleOf(v.on_air, lang()) : "");
  document.body.dataset.script = id || "";
  // a take brings the new script from its top; a follower takes the operator's place
  if (fresh || !operator) show(scroll && scroll.seg === id ? scroll : { line: 0, frac: 0 });
  else show(position);
  if (fresh) sent = null;
}

function onMessage(message) {
  if (message.type === "scroll" && message.seg === scriptId && !operator) {
    show({ line: message.line, frac: message.frac });  // at once: no frame in between
    window.showctlStage.received += 1;
  } else if (message.type === "operator") {
    operator = message.ok;
    document.body.classList.toggle("operator", operator);
    $("operator-badge").hidden = !operator;
    $("operate").hidden = operator;
    $("operate-error").hidden = operator || !params.has("operate");
    if (!message.ok) sessionStorage.removeItem(TOKEN_KEY);
  }
}

function operate(token) {
  if (feed) feed.send({ type: "operate", token: token || null });
}

function nudge(px) {
  if (!operator) return;
  scroller.scrollTop += px;
}

function frame(time) {
  if (operator) {
    if (auto && lastFrame !== null) scroller.scrollTop += (auto * (time - lastFrame)) / 1000;
    const now = read();
    if (lines.length && (!sent || now.line !== sent.line || now.frac !== sent.frac)) {
      if (feed.send({ type: "scroll", seg: scriptId, ...now })) sent = now;
      position = now;
    }
  }
  lastFrame = time;
  if (view && clock) {
    const now = clock.now();
    const c = segmentClock(view.on_air, now);
    put($("seg-clock"), c.text);
    $("seg-clock").dataset.band = c.band;
    put($("seg-ou"), overUnder(view.on_air, now));
  }
  requestAnimationFrame(frame);
}

/** The segment's over/under as Sofie's prompter shows it: its expected length (not before
 * now) against its planned length, `+0:12` long, `−0:40` short (control/show/timeline.py). */
function overUnder(onAir, now) {
  if (!onAir || onAir.planned_ms === null || onAir.since_ms === null) return "";
  const ms = Math.max(onAir.end_ms, now) - onAir.since_ms - onAir.planned_ms;
  const s = Math.round(ms / 1000);
  $("seg-ou").dataset.sign = s > 0 ? "over" : s < 0 ? "under" : "even";
  return `${s > 0 ? "+" : s < 0 ? "−" : "±"}${clockText(Math.abs(s))}`;
}

function keys(event) {
  if (!operator || event.target.tagName === "INPUT") return;
  const step = { ArrowDown: 60, ArrowUp: -60, PageDown: innerHeight * 0.8,
    PageUp: -innerHeight * 0.8 }[event.key];
  if (step !== undefined) {
    nudge(step);
  } else if (event.key === "Home") {
    scroller.scrollTop = 0;
  } else if (event.key === " ") {
    auto = auto ? 0 : 60;
  } else if (event.key === "+" || event.key === "=") {
    auto = Math.min(600, auto + 20);
  } else if (event.key === "-") {
    auto = Math.max(0, auto - 20);
  } else {
    return;
  }
  event.preventDefault();
}

function wireTools() {
  $("mirror").addEventListener("click", () => { options.mirror = !options.mirror; applyOptions(); });
  $("marker-toggle").addEventListener("click", () => {
    options.marker = options.marker ? 0 : 35;
    applyOptions();
  });
  $("smaller").addEventListener("click", () => { options.size = Math.max(16, options.size - 8); applyOptions(); });
  $("larger").addEventListener("click", () => { options.size = Math.min(200, options.size + 8); applyOptions(); });
  $("operate").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    operate(token);
  });
  scroller.addEventListener("wheel", (event) => {
    event.preventDefault();
    nudge(event.deltaMode === 1 ? event.deltaY * 40 : event.deltaY);
  }, { passive: false });
  document.addEventListener("keydown", keys);
  addEventListener("resize", () => applyOptions());
}

async function main() {
  await startI18n();
  translate(document);
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    sessionStorage.setItem(TOKEN_KEY, hash.get("token"));
    history.replaceState(null, "", location.pathname + location.search);  // off the screen
  }
  window.showctlStage = { received: 0, get position() { return position; },
    get operator() { return operator; }, get scrollTop() { return scroller.scrollTop; } };
  ({ feed, clock } = connect("prompter", {
    onView,
    onMessage,
    onStatus: (status) => {
      $("link-lost").hidden = status === "open";
      if (status === "open" && params.get("operate") === "1") {
        $("operate").hidden = false;
        operate(sessionStorage.getItem(TOKEN_KEY));
      }
    },
  }));
  window.showctlStage.feed = feed;
  onLangChange(() => { renderScript(); show(position); });
  wireTools();
  applyOptions();
  requestAnimationFrame(frame);
}

main();
