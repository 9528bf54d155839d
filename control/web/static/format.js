// Formatting of clocks, durations and times in the show's zone. Pure functions.

const MINUS = "\u2212"; // a real minus sign: as wide as the digits, readable from afar

function pad(n) {
  return n < 10 ? `0${n}` : String(n);
}

function hms(totalSeconds) {
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** A countdown in ms as [−]h:mm:ss / m:ss. Rounds up, so it shows 0:01 until the last
 * second is over and −0:01 once a full second has passed the mark. */
export function countdown(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const s = Math.ceil(ms / 1000);
  return s < 0 ? MINUS + hms(-s) : hms(s);
}

/** A duration in seconds, rounded to the nearest second: m:ss or h:mm:ss. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  return s < 0 ? MINUS + hms(-s) : hms(s);
}

/** A long signed span (the rehearsal shift): days split off, e.g. +3 d 4:05:00. */
export function signedSpan(seconds, dayUnit = "d") {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(Math.abs(seconds));
  const days = Math.floor(s / 86400);
  const rest = hms(s % 86400);
  const sign = seconds < 0 ? MINUS : "+";
  return days ? `${sign}${days} ${dayUnit} ${rest}` : `${sign}${rest}`;
}

/** A signed duration (+ over / late, − under / early); ±0:00 when zero. */
export function signed(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s === 0) return "\u00b10:00";
  return (s > 0 ? "+" : MINUS) + hms(Math.abs(s));
}

const formatters = new Map();

function formatter(timeZone, lang, withDate) {
  const key = `${timeZone}|${lang}|${withDate}`;
  let f = formatters.get(key);
  if (!f) {
    const options = { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit",
      hourCycle: "h23" };
    if (withDate) Object.assign(options, { year: "numeric", month: "2-digit", day: "2-digit" });
    try {
      f = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", options);
    } catch {
      f = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB",
        { ...options, timeZone: "UTC" });
    }
    formatters.set(key, f);
  }
  return f;
}

/** A time (epoch ms or an ISO 8601 string) as HH:MM:SS in the show's zone. */
export function clockTime(value, timeZone, lang) {
  if (value === null || value === undefined || value === "") return "—";
  const ms = typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(ms)) return "—";
  return formatter(timeZone, lang, false).format(ms);
}

/** The date and time in the show's zone (for the wall clock's date line). */
export function dateTime(value, timeZone, lang) {
  if (!Number.isFinite(value)) return "—";
  return formatter(timeZone, lang, true).format(value);
}

export function epoch(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}
