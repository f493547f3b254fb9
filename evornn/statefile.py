"""A state (an optimizer's ``state_dict()`` and the run's own) as bytes that load without
running code: one .npz holding each array as an entry and, in ``tree.json``, the JSON of
everything else with the arrays named in it. Read with NumPy's ``allow_pickle=False``.

JSON nodes: None, booleans, numbers and strings as themselves; a list as a list; a dict
with string keys as an object; the rest as an object tagged ``"$"``: ``{"$": "tuple",
"items": [...]}``, ``{"$": "dict", "items": [[key, value], ...]}`` (other keys, or a key
"$"), ``{"$": "array" | "scalar" | "bytes" | "tensor", "entry": "a0"}`` (a NumPy array, a
NumPy scalar, bytes as uint8, a torch tensor: the npz entry holding it).
Floats are written with Python's repr, so they read back to the same bits (nan and inf too).
"""
from __future__ import annotations

import io
import json

import numpy as np

TREE = "tree.json"


def dumps(state) -> bytes:
    """state as .npz bytes; a TypeError names the path of a value it cannot hold."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, arrays, "state")
    arrays[TREE] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def loads(data: bytes):
    """The state written by ``dumps``; ValueError (or KeyError) if data is not one."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if TREE not in arrays:
        raise ValueError(f"no {TREE} entry: not an evornn state file")
    return _decode(json.loads(arrays.pop(TREE).tobytes().decode()), arrays)


def _entry(value: np.ndarray, arrays: dict, tag: str) -> dict:
    name = f"a{len(arrays)}"
    arrays[name] = value
    return {"$": tag, "entry": name}


def _encode(v, arrays: dict, path: str):
    if v is None or isinstance(v, (bool, str)) or type(v) in (int, float):
        return v
    if isinstance(v, np.ndarray):
        if v.dtype.hasobject:
            raise TypeError(f"{path}: an array of Python objects cannot be checkpointed")
        return _entry(v, arrays, "array")
    if isinstance(v, np.generic):
        return _entry(np.asarray(v), arrays, "scalar")
    if isinstance(v, (bytes, bytearray)):
        return _entry(np.frombuffer(bytes(v), dtype=np.uint8), arrays, "bytes")
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        return _entry(v.detach().cpu().numpy(), arrays, "tensor")
    if isinstance(v, list):
        return [_encode(x, arrays, f"{path}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, tuple):
        return {"$": "tuple", "items": [_encode(x, arrays, f"{path}[{i}]") for i, x in enumerate(v)]}
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v) and "$" not in v:
            return {k: _encode(x, arrays, f"{path}[{k!r}]") for k, x in v.items()}
        return {"$": "dict", "items": [[_encode(k, arrays, f"{path} key"),
                                        _encode(x, arrays, f"{path}[{k!r}]")]
                                       for k, x in v.items()]}
    raise TypeError(f"{path}: a {type(v).__module__}.{type(v).__qualname__} cannot be "
                    "checkpointed (allowed: None, bool, int, float, str, list, tuple, dict, "
                    "bytes, NumPy arrays and scalars, torch tensors)")


def _decode(node, arrays: dict):
    if isinstance(node, list):
        return [_decode(x, arrays) for x in node]
    if not isinstance(node, dict):
        return node
    tag = node.get("$")
    if tag is None:
        return {k: _decode(x, arrays) for k, x in node.items()}
    if tag == "tuple":
        return tuple(_decode(x, arrays) for x in node["items"])
    if tag == "dict":
        return {_decode(k, arrays): _decode(x, arrays) for k, x in node["items"]}
    a = arrays[node["entry"]]
    if tag == "array":
        return a
    if tag == "scalar":
        return a[()]
    if tag == "bytes":
        return a.tobytes()
    if tag == "tensor":
        import torch
        return torch.from_numpy(a.copy())
    raise ValueError(f"unknown node tag {tag!r}")
