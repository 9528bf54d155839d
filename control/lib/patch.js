// JSON Patch (RFC 6902) for the state websocket's deltas: add, remove and replace, the only
// operations the controller sends (control/web/patch.py). Copy on write along each path, so
// the state the console drew last is never changed under it.

const unescape = (token) => token.replace(/~1/g, "/").replace(/~0/g, "~");

function set(node, tokens, op) {
  const [token, ...rest] = tokens;
  if (Array.isArray(node)) {
    const items = node.slice();
    const index = token === "-" ? items.length : Number(token);
    if (!Number.isInteger(index) || index < 0) throw new Error(`${op.path}: not a list index`);
    if (rest.length) {
      if (index >= items.length) throw new Error(`${op.path}: index out of range`);
      items[index] = set(items[index], rest, op);
    } else if (op.op === "add") {
      if (index > items.length) throw new Error(`${op.path}: index out of range`);
      items.splice(index, 0, op.value);
    } else {
      if (index >= items.length) throw new Error(`${op.path}: index out of range`);
      if (op.op === "remove") items.splice(index, 1);
      else items[index] = op.value;
    }
    return items;
  }
  if (node !== null && typeof node === "object") {
    const copy = { ...node };
    const has = Object.prototype.hasOwnProperty.call(copy, token);
    if (rest.length) {
      if (!has) throw new Error(`${op.path}: no ${token}`);
      copy[token] = set(copy[token], rest, op);
    } else if (op.op === "remove") {
      if (!has) throw new Error(`${op.path}: nothing to remove`);
      delete copy[token];
    } else {
      if (op.op === "replace" && !has) throw new Error(`${op.path}: nothing to replace`);
      copy[token] = op.value;
    }
    return copy;
  }
  throw new Error(`${op.path}: ${token} is inside a ${typeof node}`);
}

/** `doc` with `ops` applied; throws on an operation that does not fit (then resync). */
export function applyPatch(doc, ops) {
  for (const op of ops) {
    if (!["add", "remove", "replace"].includes(op.op)) throw new Error(`unsupported op ${op.op}`);
    if (op.path === "") {
      if (op.op === "remove") throw new Error("cannot remove the whole document");
      doc = op.value;
    } else {
      doc = set(doc, op.path.slice(1).split("/").map(unescape), op);
    }
  }
  return doc;
}
