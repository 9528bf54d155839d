// English and Chinese for every page (the console, the guest page): two dictionaries with the
// same keys (tests check), JSON files next to the page's code, one `t(key, params)`. The language comes from localStorage, else navigator.language; a visible
// switch changes it and remembers it. Static labels carry data-i18n="key" (text),
// data-i18n-title / data-i18n-placeholder / data-i18n-aria (attributes).

export const LANGS = ["en", "zh"];
const STORAGE_KEY = "showctl.lang";

const dictionaries = {};
let current = "en";
const listeners = [];

function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch {
    // storage may be disabled: fall back to the browser's language
  }
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return browser.toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** Load `${base}i18n.en.json` and `${base}i18n.zh.json`, then translate the page. */
export async function initI18n(base) {
  await Promise.all(LANGS.map(async (lang) => {
    const response = await fetch(`${base}i18n.${lang}.json`, { cache: "no-cache" });
    if (!response.ok) throw new Error(`i18n.${lang}.json: HTTP ${response.status}`);
    dictionaries[lang] = await response.json();
  }));
  apply(initialLang());
}

export function lang() {
  return current;
}

/** The message `key` in the current language with {name} placeholders filled in. */
export function t(key, params = {}) {
  const text = dictionaries[current]?.[key] ?? dictionaries.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

export function onLangChange(listener) {
  listeners.push(listener);
}

function apply(lang) {
  current = lang;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  translate(document);
}

/** Switch to `lang`; `remember: false` (a page whose URL names its language, e.g. a
 * presenter screen's ?lang=) leaves the choice other pages of this origin remember alone. */
export function setLang(lang, { remember = true } = {}) {
  if (!LANGS.includes(lang) || lang === current) return;
  try {
    if (remember) localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered, still switched
  }
  apply(lang);
  for (const listener of listeners) listener(lang);
}

/** Fill every data-i18n element under `root` (text only, never HTML). */
export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAria));
  }
}
