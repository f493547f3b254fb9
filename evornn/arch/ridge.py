"""Ridge-regression readouts for the families with a fixed recurrent pool (esn, lsm): the
checks of ``Network.fit_readout`` and the solve."""
from __future__ import annotations

import numpy as np


def fit_data(net, name: str, X, Y, washout: int, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) as float64 after checking that net is one ``name`` layer with a linear readout
    and that Y, washout and ridge fit X (ValueError, one line, otherwise)."""
    if len(net.layers) != 1 or net.layers[0].family.name != name:
        raise ValueError(f"fit_readout needs a single-layer {name!r} network, got {net.arch!r}")
    readout = net.layers[0].opts["readout"]
    if readout != "linear":
        raise ValueError(f"fit_readout fits a linear readout; this network's readout is {readout!r}")
    Xa = net.check_inputs(X, batched=True).astype(np.float64)
    Ya = np.asarray(Y, dtype=np.float64)
    if Ya.shape != Xa.shape[:2] + (net.n_out,):
        raise ValueError(f"targets must have shape {Xa.shape[:2] + (net.n_out,)}, got {Ya.shape}")
    if not 0 <= washout < Xa.shape[1]:
        raise ValueError(f"washout={washout} must be in [0, T) with T={Xa.shape[1]}")
    if not ridge >= 0:
        raise ValueError(f"ridge={ridge!r} must be >= 0")
    return Xa, Ya


def solve(Phi: np.ndarray, Y: np.ndarray, washout: int, ridge: float) -> np.ndarray:
    """Readout weights and bias [F + 1, O] fitting features Phi [B, T, F] to Y [B, T, O]
    after the first ``washout`` steps."""
    F = Phi.shape[-1]
    P = Phi[:, washout:].reshape(-1, F)
    P = np.hstack([P, np.ones((len(P), 1))])
    T = Y[:, washout:].reshape(-1, Y.shape[-1])
    return np.linalg.solve(P.T @ P + ridge * np.eye(F + 1), P.T @ T)
