"""numba primitives shared by every architecture: fast activations and small matmuls.

Layouts are batch-major: a batch of states is ``[B, H]`` and weights are stored
transposed (``[K, M]``) so the innermost loop runs over contiguous output units,
which LLVM vectorizes well even for B = 16 (measured: ~190 GFLOP/s at M = 128 vs
~75 GFLOP/s for a lane-over-batch layout on the 2-core reference machine).
"""
import math
import os

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array

# Flags without nnan/ninf: a diverging network must still produce inf/NaN.
FAST = {"contract", "arcp", "nsz", "afn", "reassoc"}
# error_model="numpy": Python's ZeroDivisionError check on every division stops
# LLVM from vectorizing (measured 10x on the activation loops).
# Families outside the package (named in this variable, see dispatch.py) turn numba's
# on-disk cache off: a cached loop carries the family switch it was compiled with.
PLUGINS_VAR = "EVORNN_FAMILIES"
CACHE = not os.environ.get(PLUGINS_VAR, "").strip()
JIT = {"fastmath": FAST, "error_model": "numpy", "cache": CACHE}
JIT_NO_CACHE = {**JIT, "cache": False}

# tanh(x) ~ x P(x^2) / Q(x^2) on |x| <= 9 (float32 tanh is 1 beyond), a [4/4]
# rational fitted here by iteratively reweighted least squares; max abs error
# 3.7e-7 in float32 arithmetic (np.tanh's float32 error is 6e-8).
_C = np.float32(9.0)
_P0, _P1, _P2, _P3, _P4 = (np.float32(v) for v in (
    0.9999998807907104, 0.13373206555843353, 0.0034865927882492542,
    2.0472001779126003e-05, 1.3184438429902912e-08))
_Q1, _Q2, _Q3, _Q4 = (np.float32(v) for v in (
    0.4670650362968445, 0.02584202215075493, 0.00032714029657654464,
    7.702756192884408e-07))
_ONE32 = np.float32(1.0)
_HALF32 = np.float32(0.5)


def tanh(x):
    """tanh: a vectorizable rational approximation in float32, exact in float64."""
    return math.tanh(x)


def sigmoid(x):
    """Logistic function, 1 / (1 + exp(-x)), same precision policy as `tanh`."""
    return 1.0 / (1.0 + math.exp(-x))


@overload(tanh, jit_options={"fastmath": FAST, "error_model": "numpy"})
def _tanh_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def impl(x):
            # comparisons rather than min/max so that NaN passes through
            if x > _C:
                x = _C
            if x < -_C:
                x = -_C
            s = x * x
            p = (((_P4 * s + _P3) * s + _P2) * s + _P1) * s + _P0
            q = (((_Q4 * s + _Q3) * s + _Q2) * s + _Q1) * s + _ONE32
            r = x * p / q
            # saturate exactly, as float32 tanh does beyond |x| = 9
            if x >= _C or r > _ONE32:
                r = _ONE32
            if x <= -_C or r < -_ONE32:
                r = -_ONE32
            return r
        return impl
    return lambda x: math.tanh(x)


@overload(sigmoid, jit_options={"fastmath": FAST, "error_model": "numpy"})
def _sigmoid_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: _HALF32 * tanh(_HALF32 * x) + _HALF32
    return lambda x: 1.0 / (1.0 + math.exp(-x))


def _view_codegen(owned):
    def codegen(context, builder, sig, args):
        src = make_array(sig.args[0])(context, builder, value=args[0])
        out = make_array(sig.return_type)(context, builder)
        size = context.get_abi_sizeof(context.get_data_type(sig.args[0].dtype))
        isz = context.get_constant(types.intp, size)
        r = context.cast(builder, args[1], sig.args[1], types.intp)
        c = context.cast(builder, args[2], sig.args[2], types.intp)
        populate_array(out, data=src.data, shape=cgutils.pack_array(builder, [r, c]),
                       strides=cgutils.pack_array(builder, [builder.mul(c, isz), isz]),
                       itemsize=isz, meminfo=src.meminfo if owned else None,
                       parent=src.parent if owned else None)
        if owned:
            return impl_ret_borrowed(context, builder, sig.return_type, out._getvalue())
        return out._getvalue()
    return codegen


@intrinsic
def _as_2d(typingctx, a, rows, cols):
    """A C-contiguous [rows, cols] view of the 1-d C-contiguous array a (no checks)."""
    return types.Array(a.dtype, 2, "C")(a, rows, cols), _view_codegen(True)


@intrinsic
def _as_2d_unowned(typingctx, a, rows, cols):
    """The same view without a reference to a's memory (no reference counting)."""
    return types.Array(a.dtype, 2, "C")(a, rows, cols), _view_codegen(False)


@njit(**JIT)
def view2d(a, off, rows, cols):
    """a[off:off + rows*cols] seen as [rows, cols]: what .reshape does, without the
    runtime call (measured 13.8 ns a reshape against 0.8 ns; steps make up to ten)."""
    n = rows * cols
    if off < 0 or rows < 0 or cols < 0 or off + n > a.size:
        raise IndexError("view2d: view out of the array's bounds")
    return _as_2d(a[off:off + n], rows, cols)


@njit(**JIT)
def borrow2d(a, off, rows, cols):
    """view2d without a reference to a's memory, for views that die before a does (a step's
    views of its weights and state): no reference counting (two atomic updates a view)."""
    n = rows * cols
    if off < 0 or rows < 0 or cols < 0 or off + n > a.size:
        raise IndexError("borrow2d: view out of the array's bounds")
    return _as_2d_unowned(a[off:off + n], rows, cols)


@njit(**JIT)
def mm_acc(z, x, w):
    """z[B, M] += x[B, K] @ w[K, M], register-tiled 4 batch rows x 4 k-steps."""
    B, K = x.shape
    M = w.shape[1]
    K4 = K - K % 4
    B4 = B - B % 4
    for b in range(0, B4, 4):
        for k in range(0, K4, 4):
            a0 = x[b, k]; a1 = x[b, k + 1]; a2 = x[b, k + 2]; a3 = x[b, k + 3]
            c0 = x[b + 1, k]; c1 = x[b + 1, k + 1]; c2 = x[b + 1, k + 2]; c3 = x[b + 1, k + 3]
            d0 = x[b + 2, k]; d1 = x[b + 2, k + 1]; d2 = x[b + 2, k + 2]; d3 = x[b + 2, k + 3]
            e0 = x[b + 3, k]; e1 = x[b + 3, k + 1]; e2 = x[b + 3, k + 2]; e3 = x[b + 3, k + 3]
            for j in range(M):
                w0 = w[k, j]; w1 = w[k + 1, j]; w2 = w[k + 2, j]; w3 = w[k + 3, j]
                z[b, j] += w0 * a0 + w1 * a1 + w2 * a2 + w3 * a3
                z[b + 1, j] += w0 * c0 + w1 * c1 + w2 * c2 + w3 * c3
                z[b + 2, j] += w0 * d0 + w1 * d1 + w2 * d2 + w3 * d3
                z[b + 3, j] += w0 * e0 + w1 * e1 + w2 * e2 + w3 * e3
        for k in range(K4, K):
            a0 = x[b, k]; c0 = x[b + 1, k]; d0 = x[b + 2, k]; e0 = x[b + 3, k]
            for j in range(M):
                w0 = w[k, j]
                z[b, j] += w0 * a0
                z[b + 1, j] += w0 * c0
                z[b + 2, j] += w0 * d0
                z[b + 3, j] += w0 * e0
    for b in range(B4, B):
        for k in range(0, K4, 4):
            a0 = x[b, k]; a1 = x[b, k + 1]; a2 = x[b, k + 2]; a3 = x[b, k + 3]
            for j in range(M):
                z[b, j] += w[k, j] * a0 + w[k + 1, j] * a1 + w[k + 2, j] * a2 + w[k + 3, j] * a3
        for k in range(K4, K):
            a0 = x[b, k]
            for j in range(M):
                z[b, j] += w[k, j] * a0


@njit(**JIT)
def set_rows(z, v):
    """z[b, :] = v for every batch row (bias initialisation)."""
    for b in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[b, j] = v[j]


@njit(**JIT)
def transpose_into(dst, g, off, rows, cols):
    """dst[c, r] = g[off + r*cols + c]: a row-major (rows, cols) block, transposed."""
    for r in range(rows):
        for c in range(cols):
            dst[c, r] = g[off + r * cols + c]
    return off + rows * cols


@njit(**JIT)
def pack_cell(g, w, I, K2, M, n_bias):
    """Pack the common cell layout W_ih [M, I], W_hh [M, K2], n_bias biases.

    Both matrices go transposed into w ([I, M] then [K2, M]), biases follow; returns
    the genome and packed offsets after them.
    """
    off = transpose_into(view2d(w, 0, I, M), g, 0, M, I)
    off = transpose_into(view2d(w, I * M, K2, M), g, off, M, K2)
    woff = (I + K2) * M
    for j in range(n_bias):
        w[woff + j] = g[off + j]
    return off + n_bias, woff + n_bias


# readout codes (cfg[C_READOUT])
RO_NONE, RO_LINEAR, RO_TANH, RO_SIGMOID, RO_NEURONS = 0, 1, 2, 3, 4
READOUTS = {"none": RO_NONE, "linear": RO_LINEAR, "tanh": RO_TANH,
            "sigmoid": RO_SIGMOID, "neurons": RO_NEURONS}

# cfg vector: shared header, then family options from C_OPT on
C_KIND, C_IN, C_HID, C_OUT, C_READOUT, C_OPT = 0, 1, 2, 3, 4, 8
CFG_LEN = 16


@njit(**JIT)
def pack_readout(g, off, w, woff, F, O, code):
    """Copy a readout block (W_out [O, F], b_out [O]) into packed form.

    Packed: W_out as is (for the dot-product form used when O is small), W_out
    transposed [F, O] (for the tiled matmul), then b_out.
    """
    if code == RO_NONE or code == RO_NEURONS:
        return off, woff
    for i in range(F * O):
        w[woff + i] = g[off + i]
    transpose_into(view2d(w, woff + F * O, F, O), g, off, O, F)
    for o in range(O):
        w[woff + 2 * F * O + o] = g[off + F * O + o]
    return off + F * O + O, woff + 2 * F * O + O


# below this many outputs a readout is O dot products over F (vectorized reductions);
# the tiled matmul wastes its vector lanes on a 1- or 2-wide output (measured: the
# Elman benchmark went from 20 to 30 M genome-steps/s)
DOT_READOUT_MAX = 8


@njit(**JIT)
def readout(w, woff, feats, y, code):
    """y = act(feats @ W_out^T + b_out), or feats itself ('none'), or its first O columns ('neurons')."""
    B, F = feats.shape
    O = y.shape[1]
    if code == RO_NONE or code == RO_NEURONS:
        for b in range(B):
            for o in range(O):
                y[b, o] = feats[b, o]
        return
    bias = w[woff + 2 * F * O:woff + 2 * F * O + O]
    if O < DOT_READOUT_MAX:
        wo = view2d(w, woff, O, F)
        for b in range(B):
            for o in range(O):
                s = bias[o]
                for k in range(F):
                    s += feats[b, k] * wo[o, k]
                y[b, o] = s
    else:
        set_rows(y, bias)
        mm_acc(y, feats, view2d(w, woff + F * O, F, O))
    if code == RO_TANH:
        for b in range(B):
            for o in range(O):
                y[b, o] = tanh(y[b, o])
    elif code == RO_SIGMOID:
        for b in range(B):
            for o in range(O):
                y[b, o] = sigmoid(y[b, o])


def readout_size(F: int, O: int, code: int) -> int:
    """Packed (and genome) size of a readout block."""
    return 0 if code in (RO_NONE, RO_NEURONS) else 2 * F * O + O
