// The presenter view (/presenter): the segment's clock, big, from three metres; amber and
// red at the segment's thresholds, then over time counting up in red; what comes next; the
// countdown to the next hard start with the flex plan; the director's message (the host
// confirms it: Enter, or a tap) and the wrap-up / stretch signal. Read only, but for the
// read-back. Options: ?key= (the read key), ?lang=zh|en.

import { t, lang, onLangChange } from "/lib/i18n.js";
import { clockText, connect, put, segmentClock, startI18n, titleOf, wallText }
  from "/stage/static/stage.js";

const $ = (id) => document.getElementById(id);
let view = null;
let feed = null;
let clock = null;
let shownMessage = null;  // the id of the message on screen

/** A span as the hosts read it: "40 s" / "40 秒" under a minute, else m:ss (control/show/
 * stage.py short_duration). */
function span(ms) {
  const total = Math.round(Math.abs(ms) / 1000);
  return total < 60 ? t("unit.seconds", { n: total }) : clockText(total);
}

function render() {
  if (!view) return;
  const l = lang();
  put($("show-title"), (l === "zh" && view.title_zh) || view.title);
  const tally = $("tally");
  tally.dataset.tally = view.tally;
  put(tally, t(`tally.${view.tally}`));
  put($("segment"), view.on_air ? titleOf(view.on_air, l) : t("nothing"));
  const nxt = view.next;
  put($("next-title"), nxt ? titleOf(nxt, l) : t("next.none"));
  put($("next-at"), nxt && nxt.start_ms ? t("next.at", { time: wallText(nxt.start_ms,
    view.timezone) }) : "");
  const hard = view.hard_start;
  $("hard").hidden = !hard;
  if (hard) {
    put($("hard-label"), t("hard.label", { title: titleOf(hard, l) }));
    const flex = hard.flex;
    let words = t(`flex.${flex.kind}`, { amount: span(flex.ms) });
    if (flex.shortfall_ms > 500) words += ` · ${t("flex.short", { amount: span(flex.shortfall_ms) })}`;
    if (flex.shortfall_ms < -500) words += ` · ${t("flex.fill", { amount: span(flex.shortfall_ms) })}`;
    put($("flex"), words);
    $("flex").dataset.kind = flex.kind;
  }
  const signal = $("signal");
  signal.hidden = !view.signal;
  if (view.signal) {
    signal.dataset.cue = view.signal;
    put(signal, t(`signal.${view.signal}`));
  }
  renderMessage(view.message);
}

function renderMessage(message) {
  const box = $("message");
  box.hidden = !message;
  if (!message) {
    shownMessage = null;
    return;
  }
  put($("message-text"), message.text);
  const read = message.read_ms !== null;
  box.dataset.read = read ? "1" : "0";
  box.dataset.id = String(message.id);
  put($("message-state"), read ? `✓ ${t("message.read")}` : t("message.confirm"));
  if (message.id !== shownMessage) {
    shownMessage = message.id;
    box.classList.remove("flash");
    void box.offsetWidth;  // restart the animation for a new message
    box.classList.add("flash");
  }
}

function confirmMessage() {
  const message = view && view.message;
  if (message && message.read_ms === null && feed) feed.send({ type: "read", id: message.id });
}

function frame() {
  if (view && clock) {
    const now = clock.now();
    const c = segmentClock(view.on_air, now);
    put($("clock"), view.on_air ? c.text : "");
    document.body.dataset.band = c.band;
    put($("clock-label"), !view.on_air ? "" : c.over ? t("clock.over")
      : view.on_air.held ? `${t("clock.left")} · ${t("clock.held")}` : t("clock.left"));
    put($("wall"), wallText(now, view.timezone));
    const hard = view.hard_start;
    if (hard) put($("hard-countdown"), clockText(Math.max(0, Math.ceil((hard.target_ms - now) / 1000))));
  }
  requestAnimationFrame(frame);
}

async function main() {
  await startI18n();
  onLangChange(render);
  ({ feed, clock } = connect("presenter", {
    onView: (v) => {
      view = v;
      document.body.dataset.endMs = v.on_air ? String(v.on_air.end_ms) : "";
      render();
    },
    onStatus: (status) => {
      $("link-lost").hidden = status === "open";
    },
  }));
  $("message").addEventListener("click", confirmMessage);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      confirmMessage();
    }
  });
  window.showctlStage = { get view() { return view; }, get clock() { return clock; }, feed };
  requestAnimationFrame(frame);
}

main();
