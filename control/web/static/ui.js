// Small DOM helpers: text-only element building, toasts and the one modal dialog.
// Text from the server only ever goes in through textContent.

import { t } from "/lib/i18n.js";

export function $(id) {
  return document.getElementById(id);
}

/** An element with a class and text (as text, never HTML). */
export function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

/** Set text only when it changed: cheap enough to call every frame. */
export function setText(node, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

export function setClass(node, name, on) {
  if (node.classList.contains(name) !== Boolean(on)) node.classList.toggle(name, Boolean(on));
}

export function show(node, visible) {
  if (node.hidden === Boolean(visible)) node.hidden = !visible;
}

const TOAST_MS = 7000;

/** A message at the corner for a few seconds; level: error | warn | info. */
export function toast(text, level = "error") {
  const box = $("toasts");
  const item = el("div", `toast toast-${level}`, text);
  item.setAttribute("role", level === "error" ? "alert" : "status");
  item.addEventListener("click", () => item.remove());
  box.append(item);
  while (box.children.length > 5) box.firstElementChild.remove();
  setTimeout(() => item.remove(), TOAST_MS);
}

/**
 * The modal dialog. `body` is a Node (built with el()/textContent) or a string (as text).
 * Resolves true on OK, false on Cancel or Escape. With `cancel: false` only OK is shown.
 */
export function dialog({ title, body, ok = t("dlg.ok"), cancel = t("dlg.cancel"),
  danger = false, kind = "" }) {
  const dlg = $("dialog");
  if (dlg.open) dlg.close("cancel");
  $("dialog-title").textContent = title;
  const holder = $("dialog-body");
  holder.replaceChildren();
  if (body instanceof Node) holder.append(body);
  else if (body) holder.append(el("p", "", body));
  const okButton = $("dialog-ok");
  const cancelButton = $("dialog-cancel");
  okButton.textContent = ok;
  okButton.classList.toggle("btn-danger", danger);
  cancelButton.textContent = cancel || "";
  cancelButton.hidden = !cancel;
  dlg.dataset.kind = kind;
  dlg.returnValue = "";
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.showModal();
    (cancel ? cancelButton : okButton).focus();
  });
}

export function dialogOpen() {
  return $("dialog").open;
}
