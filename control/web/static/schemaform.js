// A data form built from a template's JSON Schema (the subset control/overlays/schema.py
// enforces: string (maxLength, enum, format date-time), number and integer (minimum,
// maximum), boolean, arrays of strings). The browser checks nothing itself (no `required`,
// no patterns): the server's reasons are the ones shown. Schema text only as text.

import { t } from "/lib/i18n.js";
import { el } from "./ui.js";

const LONG_TEXT = 200; // longer strings get a text area

function fieldKind(schema) {
  const type = Array.isArray(schema.type) ? schema.type.find((k) => k !== "null") : schema.type;
  if (Array.isArray(schema.enum)) return "enum";
  if (type === "array") return "lines";
  if (type === "number" || type === "integer") return "number";
  if (type === "boolean") return "boolean";
  return "text";
}

export class SchemaForm {
  /**
   * @param {HTMLFormElement} form   emptied and filled with one field per property
   * @param {object} schema          the template's JSON Schema
   * @param {() => void} onInput     a person changed a field
   */
  constructor(form, schema, onInput) {
    this.form = form;
    this.schema = schema || {};
    this.fields = new Map(); // name → {kind, input, hint, schema}
    this.onInput = onInput;
    this.build();
  }

  build() {
    const form = this.form;
    form.replaceChildren();
    form.noValidate = true;
    const required = new Set(this.schema.required || []);
    const properties = this.schema.properties || {};
    for (const [name, schema] of Object.entries(properties)) {
      const kind = fieldKind(schema);
      const id = `gfx-field-${name}`;
      const wrap = el("div", `gfx-field gfx-${kind}`);
      wrap.dataset.field = name;
      const label = el("label", "gfx-label");
      label.htmlFor = id;
      label.append(el("span", "gfx-name mono", name));
      if (required.has(name)) label.append(el("span", "gfx-required", t("gfx.required")));
      let input;
      if (kind === "enum") {
        input = el("select");
        input.append(el("option", "", "—"));
        for (const value of schema.enum) {
          const option = el("option", "", String(value));
          option.value = JSON.stringify(value);
          input.append(option);
        }
        input.firstChild.value = "";
      } else if (kind === "lines" || (kind === "text" && (schema.maxLength || 0) > LONG_TEXT)) {
        input = el("textarea");
        input.rows = kind === "lines" ? 3 : 2;
      } else if (kind === "boolean") {
        input = el("input");
        input.type = "checkbox";
      } else {
        input = el("input");
        input.type = kind === "number" ? "number" : "text";
        if (kind === "number") {
          input.step = schema.type === "integer" ? "1" : "any";
          if (schema.minimum !== undefined) input.min = String(schema.minimum);
          if (schema.maximum !== undefined) input.max = String(schema.maximum);
        }
      }
      // the template's words for the field: its placeholder and tooltip (the hint line
      // under a field is for the server's reason when it refuses one)
      const description = schema.description || "";
      const example = schema.format === "date-time" ? t("gfx.datetime_hint")
        : (kind === "lines" ? t("gfx.lines") : "");
      if ("placeholder" in input) {
        input.placeholder = [description, example].filter(Boolean).join(" · ");
      }
      input.title = description;
      if (kind === "text" && Number.isInteger(schema.maxLength)) input.maxLength = schema.maxLength;
      input.id = id;
      input.name = name;
      input.autocomplete = "off";
      input.spellcheck = false;
      input.addEventListener("input", () => {
        this.clearError(name);
        this.onInput();
      });
      const hint = el("small", "gfx-hint");
      hint.hidden = true;
      wrap.append(label, input, hint);
      form.append(wrap);
      this.fields.set(name, { kind, input, hint, schema });
    }
    if (!this.fields.size) form.append(el("p", "muted", t("gfx.no_fields")));
  }

  /** Put `data` in the fields (a field `data` lacks is emptied). */
  fill(data) {
    for (const [name, field] of this.fields) {
      const value = data ? data[name] : undefined;
      const { input, kind } = field;
      if (kind === "boolean") input.checked = value === true;
      else if (kind === "lines") input.value = Array.isArray(value) ? value.join("\n") : "";
      else if (kind === "enum") input.value = value === undefined ? "" : JSON.stringify(value);
      else input.value = value === undefined || value === null ? "" : String(value);
      this.clearError(name);
    }
  }

  /** The fields as data: empty ones left out (`nulls`: sent as null, which removes them in
   * an update). A number that is not one is sent as typed: the server says what is wrong. */
  data({ nulls = false } = {}) {
    const out = {};
    for (const [name, { input, kind }] of this.fields) {
      let value;
      if (kind === "boolean") value = input.checked;
      else if (kind === "lines") {
        const lines = input.value.split("\n").map((line) => line.trim()).filter(Boolean);
        value = lines.length ? lines : undefined;
      } else if (kind === "enum") value = input.value === "" ? undefined : JSON.parse(input.value);
      else if (kind === "number") {
        const text = input.value.trim();
        value = text === "" ? undefined : (Number.isFinite(Number(text)) ? Number(text) : text);
      } else value = input.value === "" ? undefined : input.value;
      if (value !== undefined) out[name] = value;
      else if (nulls) out[name] = null;
    }
    return out;
  }

  /** Mark the fields the server's `errors` name ("name: is required", "items[2]: ..."). */
  showErrors(errors) {
    let first = null;
    for (const line of errors || []) {
      if (typeof line !== "string") continue;
      const match = /^([^.[:\s]+)[^:]*:\s*(.*)$/.exec(line);
      const field = match && this.fields.get(match[1]);
      if (!field) continue;
      field.input.setAttribute("aria-invalid", "true");
      field.hint.textContent = line;
      field.hint.hidden = false;
      first = first || field.input;
    }
    if (first) first.focus();
  }

  clearError(name) {
    const field = this.fields.get(name);
    if (!field || !field.input.hasAttribute("aria-invalid")) return;
    field.input.removeAttribute("aria-invalid");
    field.hint.textContent = "";
    field.hint.hidden = true;
  }
}
