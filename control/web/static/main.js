// The console's entry point: language, login or console, the websocket, the clock loop.

import { ServerClock } from "/lib/clock.js";
import { initI18n, lang, onLangChange, setLang, t, translate } from "/lib/i18n.js";
import { api, ApiError, whoami } from "./api.js";
import { ClusterPanel, resumeSession } from "./cluster.js";
import { Controls } from "./controls.js";
import { GraphicsPanel } from "./graphics.js";
import { GuestsPanel } from "./guests.js";
import { HostsPanel } from "./hosts.js";
import { Live } from "./live.js";
import { $, show } from "./ui.js";
import { ConsoleView } from "./view.js";

function bindLanguageSwitches() {
  for (const button of document.querySelectorAll(".lang-switch")) {
    button.addEventListener("click", (event) => {
      event.currentTarget.blur();
      setLang(lang() === "zh" ? "en" : "zh");
    });
  }
}

function showLogin(message = "") {
  show($("boot"), false);
  show($("console"), false);
  show($("login"), true);
  const error = $("login-error");
  error.textContent = message;
  show(error, Boolean(message));
  $("login-token").focus();
}

function bindLogin() {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("login-token");
    const button = $("login-submit");
    button.disabled = true;
    try {
      const data = await api("POST", "/api/login", { token: input.value.trim() });
      input.value = "";
      startConsole(data.role);
    } catch (e) {
      let message;
      if (e instanceof ApiError && e.status === 401) message = t("login.wrong");
      else if (e instanceof ApiError && e.status === 0) message = t("toast.network");
      else message = t("toast.error", { status: e.status ?? "?", reason: e.reason || e.code || e });
      showLogin(message);
      input.select();
    } finally {
      button.disabled = false;
    }
  });
}

let started = false;

function startConsole(role) {
  if (started) return;
  started = true;
  show($("boot"), false);
  show($("login"), false);
  show($("console"), true);
  document.body.dataset.role = role;
  // controls are not hidden but absent for roles that may not use them
  if (role !== "director") document.querySelectorAll(".director-only").forEach((n) => n.remove());
  if (role === "viewer") document.querySelectorAll(".producer-only").forEach((n) => n.remove());

  const clock = new ServerClock();
  const authLost = () => {
    live.stop();
    graphics.feed.stop();
    location.replace("/");
  };
  let controls = null;
  const view = new ConsoleView({
    role,
    clock,
    onRowClick: (id) => controls.setNext(id),
    onSkip: (id, skip) => controls.skip(id, skip),
    onNote: (id) => {
      const seg = view.segment(id);
      controls.editNote(id, view.title(id), seg?.producer_note || "");
    },
  });
  controls = new Controls({ role, state: () => view.state, onAuthLost: authLost });
  controls.bind();
  view.relabel();
  const graphics = new GraphicsPanel({ role, refused: (e) => controls.refused(e) });
  graphics.start();
  const guests = new GuestsPanel({ role, refused: (e) => controls.refused(e) });
  const hosts = new HostsPanel({ refused: (e) => controls.refused(e) });
  const pair = new ClusterPanel({ role, refused: (e) => controls.refused(e) });
  pair.start();
  onLangChange(() => {
    translate(document);
    controls.panicDisarm?.();
    view.relabel();
    graphics.relabel();
    guests.relabel();
    hosts.relabel();
    pair.relabel();
  });

  const live = new Live({
    clock,
    onState: (state) => {
      view.render(state);
      guests.render(state.guests);
      hosts.render(state);
    },
    onStatus: ({ connected, attempt }) => view.setConnection(connected, attempt),
    stillAllowed: async () => (await whoami()) !== null,
    onAuthLost: authLost,
  });
  view.setConnection(false, 0);
  live.start();
  window.showctl = { clock, view, live, graphics, guests, hosts, pair }; // for the engineers' devtools and the tests

  $("logout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/logout");
    } catch {
      // logged out or away: either way, back to the form
    }
    live.stop();
    graphics.feed.stop();
    location.replace("/");
  });

  // clocks: every frame while visible, and at 10 Hz regardless (frames stop in background)
  const frame = () => {
    view.tick();
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  setInterval(() => view.tick(), 100);
}

async function boot() {
  try {
    await initI18n("/static/");
  } catch (e) {
    $("boot").textContent = `showctl: ${e}`;
    return;
  }
  bindLanguageSwitches();
  bindLogin();
  await resumeSession();  // a page that followed the leader here brings its session along
  for (let attempt = 0; ; attempt += 1) {
    try {
      const role = await whoami();
      const failed = new URLSearchParams(location.search).get("login") === "failed";
      if (failed) history.replaceState(null, "", "/"); // a wrong login link: say so, once
      if (role) startConsole(role);
      else showLogin(failed ? t("login.wrong") : "");
      return;
    } catch {
      $("boot").textContent = t("toast.network");
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)));
    }
  }
}

boot();
