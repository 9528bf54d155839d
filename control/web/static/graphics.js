// The graphics panel (a tab next to the rundown): every graphic with what it shows on the
// program and preview buses, live from the overlay hub's websocket (/overlays/ws, the same
// feed as the pages OBS loads, on the same client: /lib/socket.js). Directors and producers
// also get, for the chosen graphic, a data form built from its template's JSON Schema,
// PREVIEW / PLAY / UPDATE / NEXT / STOP, and two small monitors: the preview page and the
// program page, scaled down. Refusals (422 with each field that does not fit) are toasts,
// and the fields are marked.

import { lang, t } from "/lib/i18n.js";
import { Feed, Status, wsUrl } from "/lib/socket.js";
import { api, ApiError } from "./api.js";
import { SchemaForm } from "./schemaform.js";
import { $, el, setClass, setText, show, toast } from "./ui.js";

const PAGE_WIDTH = 1920;
const TAB_KEY = "showctl.tab";
const GRAPHIC_KEY = "showctl.graphic";
const HIDDEN = Object.freeze({ visible: false, data: {}, step: 0 });

/** A value kept in this browser (`value` given: store it); null when storage is off. */
function remember(key, value = undefined) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: not remembered
  }
  return null;
}

/** The overlay hub's feed (/overlays/ws, the shared client): a snapshot, then revisioned
 * deltas; what each graphic shows on each bus. */
class GraphicsFeed {
  constructor(onChange) {
    this.buses = { program: {}, preview: {} };
    this.feed = new Feed({
      url: () => wsUrl("/overlays/ws", { template: "console" }),
      snapshot: "snapshot",
      deltas: ["delta", "settings"],
      onSnapshot: (message) => {
        this.buses = { program: { ...message.program }, preview: { ...message.preview } };
        onChange(true);
      },
      onDelta: (message) => {
        if (message.type === "delta" && this.buses[message.bus]) {
          this.buses[message.bus][message.graphic] = message.state;
          onChange(true, message.graphic);
        }
      },
      onStatus: (status) => {
        if (status !== Status.OPEN && status !== Status.CONNECTING) onChange(false);
      },
    });
  }

  start() {
    this.feed.start();
  }

  stop() {
    this.feed.stop();
  }

  state(name, bus) {
    return this.buses[bus][name] || HIDDEN;
  }

  names() {
    return [...new Set([...Object.keys(this.buses.program), ...Object.keys(this.buses.preview)])];
  }
}

export class GraphicsPanel {
  /**
   * @param {object} o
   * @param {string} o.role
   * @param {(e: unknown) => void} o.refused   the console's way to report a failed request
   */
  constructor({ role, refused }) {
    Object.assign(this, { role, refused });
    this.canAct = role === "director" || role === "producer";
    this.catalog = new Map(); // template → {title, description, steps, schema, url, preview_url}
    this.selected = null;
    this.form = null;
    this.dirty = false;
    this.busy = false;
    this.visible = false;
    this.connected = null; // null: not yet known (no alarm while the first connect runs)
    this.feed = new GraphicsFeed((connected, graphic) => this.changed(connected, graphic));
    this.rows = new Map();
  }

  start() {
    $("tab-rundown").addEventListener("click", () => this.showTab("rundown"));
    $("tab-graphics").addEventListener("click", () => this.showTab("graphics"));
    this.showTab(remember(TAB_KEY) === "graphics" ? "graphics" : "rundown", false);
    if (this.canAct) {
      const on = (id, handler) => $(id).addEventListener("click", (event) => {
        event.currentTarget.blur(); // the space bar stays TAKE
        handler();
      });
      on("gfx-preview", () => this.act("preview", { data: this.form?.data() }));
      on("gfx-play", () => this.act("play", { data: this.form?.data() }));
      on("gfx-update", () => this.act("update", { data: this.form?.data({ nulls: true }) }));
      on("gfx-next", () => this.act("next", {}));
      on("gfx-stop", () => this.act("stop", {}));
      on("gfx-clear-preview", () => this.act("stop", { bus: "preview" }));
      // Enter in a one-field form would submit it (reload the console): nothing airs by
      // accident, only the buttons act
      $("gfx-form").addEventListener("submit", (event) => event.preventDefault());
      for (const frame of [$("gfx-frame-preview"), $("gfx-frame-program")]) {
        new ResizeObserver(() => this.scale(frame)).observe(frame.parentElement);
      }
      this.loadCatalog(0);
    }
    this.feed.start();
    this.render();
  }

  async loadCatalog(attempt) {
    try {
      const body = await api("GET", "/api/overlays");
      for (const g of body.graphics || []) this.catalog.set(g.template, g);
      if (!this.selected && this.catalog.size) {
        const remembered = remember(GRAPHIC_KEY);
        this.select(this.catalog.has(remembered) ? remembered : this.catalog.keys().next().value,
          false);
      } else {
        this.render();
      }
    } catch (e) {
      if (e instanceof ApiError && e.status !== 0) {
        this.refused(e);
        return;
      }
      setTimeout(() => this.loadCatalog(attempt + 1), Math.min(5000, 250 * 2 ** attempt));
    }
  }

  showTab(name, keep = true) {
    const graphics = name === "graphics";
    this.visible = graphics;
    $("tab-rundown").setAttribute("aria-selected", String(!graphics));
    $("tab-graphics").setAttribute("aria-selected", String(graphics));
    show($("rundown-panel"), !graphics);
    show($("graphics-panel"), graphics);
    if (keep) remember(TAB_KEY, name);
    this.loadFrames();
  }

  /** The feed changed: a snapshot (`graphic` undefined) or one graphic's delta. A form
   * nobody has typed in follows what its graphic shows. */
  changed(connected, graphic) {
    this.connected = connected;
    if (connected && this.form && !this.dirty && (!graphic || graphic === this.selected)) {
      this.fillForm();
    }
    this.render();
  }

  /** Every template (the catalog) and every graphic the hub has a state for. */
  names() {
    return [...new Set([...this.catalog.keys(), ...this.feed.names()])].sort();
  }

  title(name) {
    const g = this.catalog.get(name);
    if (!g && !this.canAct) this.loadSchema(name);
    return (g && g.title) || name;
  }

  /** A viewer has no GET /api/overlays: a graphic's title from its template's schema (a
   * public file, like the template's script). */
  async loadSchema(name) {
    this.asked = this.asked || new Set();
    if (this.asked.has(name) || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) return;
    this.asked.add(name);
    try {
      const response = await fetch(`/overlays/${name}.schema.json`, { cache: "no-cache" });
      if (!response.ok) return;
      const schema = await response.json();
      this.catalog.set(name, { template: name, title: String(schema.title || name), schema });
      this.render();
    } catch {
      // the id it is
    }
  }

  select(name, keep = true) {
    if (!this.canAct || (name === this.selected && this.form)) return;
    this.selected = name;
    if (keep) remember(GRAPHIC_KEY, name);
    const g = this.catalog.get(name);
    this.form = new SchemaForm($("gfx-form"), g ? g.schema : {}, () => {
      this.dirty = true;
    });
    this.fillForm();
    setText($("gfx-title"), this.title(name));
    setText($("gfx-description"), g?.description || "");
    this.loadFrames();
    this.render();
  }

  /** What the form starts from: what preview shows, else program, else the last data. */
  fillForm() {
    const pv = this.feed.state(this.selected, "preview");
    const pgm = this.feed.state(this.selected, "program");
    const data = pv.visible ? pv.data : (pgm.visible || Object.keys(pgm.data || {}).length
      ? pgm.data : pv.data);
    this.form.fill(data || {});
    this.dirty = false;
  }

  loadFrames() {
    if (!this.canAct) return;
    const g = this.selected ? this.catalog.get(this.selected) : null;
    const want = (url) => (this.visible && url ? `${url}&skipAnimation=1` : "about:blank");
    for (const [id, url] of [["gfx-frame-preview", g?.preview_url], ["gfx-frame-program", g?.url]]) {
      const frame = $(id);
      const src = want(url);
      if (frame.getAttribute("src") !== src) frame.setAttribute("src", src);
      this.scale(frame);
    }
  }

  scale(frame) {
    const width = frame.parentElement.clientWidth;
    if (width) frame.style.transform = `scale(${width / PAGE_WIDTH})`;
  }

  async act(verb, body) {
    const name = this.selected;
    if (!name || this.busy) return;
    this.busy = true;
    this.render();
    try {
      // the form keeps what was typed (and sent) until another graphic is chosen; the list
      // shows what each bus has
      await api("POST", `/api/overlays/${encodeURIComponent(name)}/${verb}`, body);
    } catch (e) {
      if (e instanceof ApiError && [400, 404, 409, 422].includes(e.status)) {
        toast(t("gfx.refused", { title: this.title(name), reason: e.reason || e.code }));
        if (e.status === 422 && this.form) this.form.showErrors(e.body?.errors);
      } else {
        this.refused(e);
      }
    } finally {
      this.busy = false;
      this.render();
    }
  }

  /** A short line of what a graphic shows (its first text fields). */
  summary(data) {
    const zh = lang() === "zh";
    const values = [];
    for (const [key, value] of Object.entries(data || {})) {
      if (typeof value === "string" && value && key.endsWith("_zh") === zh) values.push(value);
      else if (Array.isArray(value) && value.length) values.push(String(value[0]));
    }
    if (!values.length) {
      for (const value of Object.values(data || {})) {
        if (typeof value === "string" && value) values.push(value);
      }
    }
    const text = values.slice(0, 2).join(" · ");
    return text.length > 80 ? `${text.slice(0, 79)}…` : text;
  }

  relabel() {
    this.rows.clear();
    $("gfx-list").replaceChildren();
    if (this.selected && this.canAct) {
      const data = this.dirty ? this.form.data() : null;
      this.form = new SchemaForm($("gfx-form"), this.catalog.get(this.selected)?.schema || {},
        () => {
          this.dirty = true;
        });
      if (data) this.form.fill(data);
      else this.fillForm();
      this.dirty = Boolean(data);
    }
    this.render();
  }

  render() {
    const names = this.names();
    const list = $("gfx-list");
    let onAir = 0;
    for (const name of names) if (this.feed.state(name, "program").visible) onAir += 1;
    const count = $("gfx-onair-count");
    setText(count, onAir ? t("gfx.onair_count", { n: onAir }) : "");
    show(count, onAir > 0);
    show($("gfx-feed-down"), this.connected === false);
    show($("gfx-empty"), !names.length);
    setText($("gfx-empty"), this.canAct ? t("gfx.loading") : t("gfx.none_played"));

    const order = names.join("\n");
    if (list.dataset.order !== order) {
      list.replaceChildren();
      this.rows.clear();
      list.dataset.order = order;
    }
    for (const name of names) {
      let row = this.rows.get(name);
      if (!row) {
        const li = el("li", "gfx-row");
        li.dataset.template = name;
        const head = el("div", "gfx-row-head");
        const title = el("span", "gfx-row-title");
        const pgm = el("span", "gfx-pill gfx-pill-pgm", t("gfx.pgm"));
        const pvw = el("span", "gfx-pill gfx-pill-pvw", t("gfx.pvw"));
        head.append(title, el("span", "spacer"), pvw, pgm);
        const meta = el("div", "gfx-row-meta muted");
        li.append(head, meta);
        if (this.canAct) {
          li.classList.add("clickable");
          li.tabIndex = 0;
          li.addEventListener("click", () => this.select(name));
          li.addEventListener("keydown", (event) => {
            if (event.key === "Enter") this.select(name);
          });
        }
        list.append(li);
        row = { li, title, pgm, pvw, meta };
        this.rows.set(name, row);
      }
      const program = this.feed.state(name, "program");
      const preview = this.feed.state(name, "preview");
      setText(row.title, this.title(name));
      setClass(row.pgm, "on", program.visible);
      setClass(row.pvw, "on", preview.visible);
      row.pgm.title = program.visible ? t("gfx.on_program") : "";
      row.pvw.title = preview.visible ? t("gfx.on_preview") : "";
      const shown = program.visible ? program.data : (preview.visible ? preview.data : null);
      setText(row.meta, shown ? this.summary(shown) : "");
      setClass(row.li, "selected", name === this.selected);
      setClass(row.li, "is-on", program.visible);
      row.li.setAttribute("aria-current", name === this.selected ? "true" : "false");
    }
    if (this.canAct) this.renderEditor();
  }

  renderEditor() {
    const name = this.selected;
    show($("gfx-editor-body"), Boolean(name));
    show($("gfx-choose"), !name);
    if (!name) return;
    const g = this.catalog.get(name);
    const program = this.feed.state(name, "program");
    const preview = this.feed.state(name, "preview");
    const steps = g?.steps || 1;
    setClass($("gfx-monitor-program"), "is-on", program.visible);
    setClass($("gfx-monitor-preview"), "is-on", preview.visible);
    setText($("gfx-step"), program.visible && steps > 1
      ? t("gfx.step", { n: program.step + 1, m: steps }) : "");
    const known = Boolean(g);
    $("gfx-preview").disabled = this.busy || !known;
    $("gfx-play").disabled = this.busy || !known;
    $("gfx-update").disabled = this.busy || !known || !program.visible;
    $("gfx-next").disabled = this.busy || !program.visible || program.step + 1 >= steps;
    $("gfx-stop").disabled = this.busy || !program.visible;
    $("gfx-clear-preview").disabled = this.busy || !preview.visible;
  }
}
