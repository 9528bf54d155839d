"""JSON Patch (RFC 6902) between two read models: what the state websocket sends on a change.

A take changes a few fields of a 30 KB read model; sending those fields instead of the whole
model makes the push to every console several times smaller to send and to parse. Only `add`,
`remove` and `replace` are produced, lists are diffed element by element (a grown list gets
`add`s at its end, a shrunk one `remove`s from its end), so the patch is cheap to make and the
browser's applier (static/patch.js) stays a few lines. Our own rather than the `jsonpatch`
package: that one looks for moves (slow on every push) and its patches need its full applier.
"""

from __future__ import annotations

from typing import Any

Op = dict[str, Any]


class PatchError(ValueError):
    """A patch that does not fit the document (a path that is not there)."""


def _escape(key: str) -> str:
    if "~" not in key and "/" not in key:
        return key
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def diff(old: Any, new: Any, path: str = "") -> list[Op]:
    """The operations that turn `old` into `new` (both plain JSON values)."""
    ops: list[Op] = []
    _diff(old, new, path, ops)
    return ops


# leaves compared in place, without a call per field: a read model is mostly leaves, and a
# call each was most of the cost of a diff (profiled: 1.3 ms of a push to 200 consoles)
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _diff(old: Any, new: Any, path: str, ops: list[Op]) -> None:
    if old is new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        _diff_dict(old, new, path, ops)
    elif isinstance(old, list) and isinstance(new, list):
        _diff_list(old, new, path, ops)
    # bool is an int in Python, not in JSON (true -> 1 is a replace); 1 and 1.0 too
    elif type(old) is not type(new) or old != new:
        ops.append({"op": "replace", "path": path, "value": new})


def _diff_dict(old: dict[str, Any], new: dict[str, Any], path: str, ops: list[Op]) -> None:
    for key in old.keys() - new.keys():
        ops.append({"op": "remove", "path": f"{path}/{_escape(key)}"})
    for key, value in new.items():
        if key not in old:
            ops.append({"op": "add", "path": f"{path}/{_escape(key)}", "value": value})
            continue
        was = old[key]
        kind = type(value)
        if was is value or (kind is type(was) and kind in _LEAVES and was == value):
            continue
        _diff(was, value, f"{path}/{_escape(key)}", ops)


def _diff_list(old: list[Any], new: list[Any], path: str, ops: list[Op]) -> None:
    common = min(len(old), len(new))
    for i in range(common):
        was, value = old[i], new[i]
        kind = type(value)
        if was is value or (kind is type(was) and kind in _LEAVES and was == value):
            continue
        _diff(was, value, f"{path}/{i}", ops)
    for i in range(common, len(new)):
        ops.append({"op": "add", "path": f"{path}/{i}", "value": new[i]})
    for i in range(len(old) - 1, common - 1, -1):
        ops.append({"op": "remove", "path": f"{path}/{i}"})


def apply(doc: Any, ops: list[Op]) -> Any:
    """`doc` with the patch applied; `doc` itself is left as it was (copy on write: each
    container on a path is copied once per patch, then changed in place, so a take's
    hundred operations on one list copy it once). For Python clients (bench, tests); the
    console has static/patch.js."""
    fresh: dict[int, Any] = {}  # id -> a container this call made (kept alive: ids stay unique)
    for op in ops:
        doc = _apply_one(doc, op, fresh)
    return doc


def _apply_one(doc: Any, op: Op, fresh: dict[int, Any]) -> Any:
    if not isinstance(op, dict):
        raise PatchError(f"an operation must be an object, not {op!r}")
    kind, path = op.get("op"), op.get("path")
    if kind not in ("add", "remove", "replace") or not isinstance(path, str):
        raise PatchError(f"unsupported operation {op!r}")
    if path == "":
        if kind == "remove":
            raise PatchError("cannot remove the whole document")
        return op["value"]
    if not path.startswith("/"):
        raise PatchError(f"path {path!r} does not start with '/'")
    tokens = [_unescape(t) for t in path[1:].split("/")]
    return _set(doc, tokens, kind, op.get("value"), path, fresh)


def _own(node: Any, fresh: dict[int, Any]) -> Any:
    """`node` if this call made it, else a shallow copy this call owns."""
    if id(node) in fresh:
        return node
    copy = dict(node) if isinstance(node, dict) else list(node)
    fresh[id(copy)] = copy
    return copy


def _set(node: Any, tokens: list[str], kind: str, value: Any, path: str,
         fresh: dict[int, Any]) -> Any:
    token, rest = tokens[0], tokens[1:]
    if isinstance(node, dict):
        if rest:
            if token not in node:
                raise PatchError(f"{path}: no {token!r}")
            child = _set(node[token], rest, kind, value, path, fresh)
            if child is node[token]:
                return node
            node = _own(node, fresh)
            node[token] = child
        elif kind == "remove":
            if token not in node:
                raise PatchError(f"{path}: nothing to remove")
            node = _own(node, fresh)
            del node[token]
        elif kind == "replace" and token not in node:
            raise PatchError(f"{path}: nothing to replace")
        else:
            node = _own(node, fresh)
            node[token] = value
        return node
    if isinstance(node, list):
        index = len(node) if token == "-" else _index(token, path)
        if rest:
            if index >= len(node):
                raise PatchError(f"{path}: index {index} out of range")
            child = _set(node[index], rest, kind, value, path, fresh)
            if child is node[index]:
                return node
            node = _own(node, fresh)
            node[index] = child
        elif kind == "add":
            if index > len(node):
                raise PatchError(f"{path}: index {index} out of range")
            node = _own(node, fresh)
            node.insert(index, value)
        else:
            if index >= len(node):
                raise PatchError(f"{path}: index {index} out of range")
            node = _own(node, fresh)
            if kind == "remove":
                del node[index]
            else:
                node[index] = value
        return node
    raise PatchError(f"{path}: {token!r} is inside a {type(node).__name__}")


def _index(token: str, path: str) -> int:
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"{path}: {token!r} is not a list index")
    return int(token)

