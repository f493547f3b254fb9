"""Reading the pickles a run directory may still hold (pycma's state inside a cmaes
checkpoint; checkpoint.pkl of run directories written before checkpoints were .npz) without
running code that a sender of the directory put there.

Only these are built: Python's containers and numbers, NumPy arrays, dtypes and scalars,
torch tensors (their bytes read by ``torch.load(weights_only=True)``), and the state
classes of pycma and evornn's optimizers. The only functions called are NumPy's and torch's
array constructors; any other name in the pickle, and the opcodes that call a class, are
refused with ``pickle.UnpicklingError`` naming what was found.
"""
from __future__ import annotations

import io
import pickle

# module prefixes whose classes may be built (by __new__ and __dict__, never __init__) and
# whose functions may be referenced (pycma keeps a few as attributes), but never called here
_STATE_MODULES = ("cma.",)
_STATE_NAMES = {("evornn.optim.base", "LegacyRandom"), ("evornn.optim.cmaes", "_global_randn"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.linalg", "eigh"),
                ("builtins", "object")}
# the callables a pickle may call (its REDUCE opcode): constructors of data, nothing else
_CALLS = {("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
          ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
          ("numpy", "dtype"), ("builtins", "set"), ("builtins", "frozenset"),
          ("builtins", "complex"), ("builtins", "slice"), ("collections", "OrderedDict"),
          ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
          ("torch.storage", "_load_from_bytes")}


def _tensor_bytes(b: bytes):
    """torch's storage from its pickled bytes, read the way that runs no code."""
    import torch
    return torch.load(io.BytesIO(b), weights_only=True)


class _Restricted(pickle._Unpickler):
    """pickle's Python unpickler with names and calls limited as the module says."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str):
        key = (module, name)
        if key == ("torch.storage", "_load_from_bytes"):
            obj = _tensor_bytes
        elif key in _CALLS or key in _STATE_NAMES or module.startswith(_STATE_MODULES) or \
                (module == "numpy.dtypes" and name.endswith("DType")):
            obj = super().find_class(module, name)
        else:
            raise pickle.UnpicklingError(f"refused {module}.{name}: not a NumPy, torch, pycma "
                                         "or evornn state object")
        if key in _CALLS or module == "numpy.dtypes":
            self._calls = getattr(self, "_calls", []) + [obj]
        return obj

    def _load_reduce(self):
        func = self.stack[-2]
        if not any(func is f for f in getattr(self, "_calls", ())):
            raise pickle.UnpicklingError(f"refused a call of {func!r}: only NumPy's and torch's "
                                         "array constructors are called")
        return pickle._Unpickler.dispatch[pickle.REDUCE[0]](self)

    def _refuse(self):
        raise pickle.UnpicklingError("refused an opcode that calls a class (INST or OBJ)")

    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.INST[0]] = _refuse
    dispatch[pickle.OBJ[0]] = _refuse


def loads(data: bytes):
    """The object pickled in data, built as the module allows, else UnpicklingError."""
    return _Restricted(io.BytesIO(data)).load()
