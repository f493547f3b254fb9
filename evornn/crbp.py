"""Causal recursive backpropagation (Campolucci, Uncini, Piazza and Rao 1999): the online
gradient of a locally recurrent network, whose synapses are IIR filters.

Each synapse carries the derivatives of its output v with respect to its own coefficients
forward through its own recursion, dv(t)/db_k = x(t-k) + sum_m a_m dv(t-m)/db_k and
dv(t)/da_k = v(t-k) + sum_m a_m dv(t-m)/da_k: RTRL restricted to the local recursions,
(nb + 1 + na) na numbers a synapse instead of a Jacobian of the whole state. The error is
propagated back through the static part (the hidden neurons' tanh and the readout) at the
same step. With filters on the output synapses too, the hidden neurons' sensitivities
are carried forward through each output filter as well: the causal form of the paper's
backward sum over the output filters' impulse responses, in full (the paper allows
truncating it; not offered). Summed over a sequence without online updates, the gradient
is BPTT's (tested to 1e-8 in float64, with and without output filters). Online, the weights change after every
step and the sensitivities carry on, computed with each step's current coefficients.

The recursion lives with the family (its twin's ``crbp_gradient``): a network whose one
layer has none is refused when the trainer is built.
"""
from __future__ import annotations


def crbp_part(module):
    """The network's single layer twin that has a CRBP gradient; ValueError otherwise."""
    from .twins.convert import stateful_parts
    parts = stateful_parts(module)
    if len(parts) != 1 or not hasattr(parts[0], "crbp_gradient"):
        raise ValueError("--optimizer crbp trains a one-layer locally recurrent network "
                         "(--arch lrnn); this network has no causal recursive gradient "
                         "(bptt and rtrl train every architecture)")
    return parts[0]


def crbp_gradient(module, X, Y, W, on_step=None):
    """(loss, gradient [D] in parameter order) of sum W (y - Y)^2 on X [B, T, I] from a zero
    state; on_step(g_t), if given, is called with each step's gradient (online CRBP)."""
    return crbp_part(module).crbp_gradient(X, Y, W, on_step)


def crbp_step(module, params, torch_opt, X, Y, W, options) -> float:
    """One CRBP pass over a batch (rtrl.online_step)."""
    from .rtrl import online_step
    return online_step(crbp_gradient, module, params, torch_opt, X, Y, W, options)
