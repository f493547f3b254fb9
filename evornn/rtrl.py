"""Real-time recurrent learning (Williams and Zipser 1989): gradients carried forward in time.

With state h_t = f(theta, h_{t-1}, x_t) and output y_t = g(theta, h_t), RTRL keeps the
sensitivities P_t = dh_t/dtheta ([D, B, S]: every weight's effect on every state
variable) and updates them each step, P_t = df/dtheta + df/dh P_{t-1}. Then
dl_t/dtheta = dl_t/dy_t (dg/dtheta + dg/dh P_t) is known at step t, without storing the
past: weights can change online, after every step. One step of any twin is one
forward-mode Jacobian-vector product per weight (torch.func.jvp, batched over the D
weights with vmap), so the cost is D forward steps a time step: for small networks.
Summed over a sequence without online updates, the gradient is BPTT's (tested).
"""
from __future__ import annotations

import numpy as np


def rtrl_gradient(module, X, Y, W, on_step=None):
    """(loss, gradient [D] over module's trainable parameters in named_parameters order) of
    sum W (y - Y)^2 on the batch X [B, T, I], by forward sensitivities.

    on_step(g_t) -> new flat weights, if given, is called with each step's gradient (online
    RTRL: the caller updates the weights, the sensitivities carry on).
    """
    import torch
    from torch.func import functional_call, jvp, vmap

    from .twins.convert import flatten_state, get_state, set_state, unflatten_state
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    shapes = [(n, p.shape, p.numel()) for n, p in named]
    theta = torch.cat([p.detach().reshape(-1) for _, p in named])

    def unflat(v):
        out, i = {}, 0
        for n, shape, k in shapes:
            out[n] = v[i:i + k].reshape(shape)
            i += k
        return out

    set_state(module, None)
    with torch.no_grad():                      # one step from zeros gives the state's layout
        module(X[:, :1])
    h, spec = flatten_state(get_state(module))
    h = torch.zeros_like(h)
    D = theta.numel()
    P = h.new_zeros((D,) + tuple(h.shape))
    eye = torch.eye(D, dtype=h.dtype)
    grad, loss = theta.new_zeros(D), 0.0

    def step(th, hf, x):
        set_state(module, unflatten_state(hf, spec))
        y = functional_call(module, unflat(th), (x,))
        return y[:, 0], flatten_state(get_state(module))[0]

    try:
        for t in range(X.shape[1]):
            x = X[:, t:t + 1]
            (y, h_new), (dy, dh) = vmap(
                lambda v, p: jvp(lambda th, hf: step(th, hf, x), (theta, h), (v, p)))(eye, P)
            y, h_new = y[0], h_new[0]            # the primal, the same in every lane
            err = y - Y[:, t]
            loss += float((W[:, t] * err * err).sum())
            g_t = (dy * (2.0 * W[:, t] * err)).sum(dim=(1, 2))
            h, P = h_new.detach(), dh.detach()
            if on_step is None:
                grad += g_t
            else:
                theta = on_step(g_t)
    finally:
        set_state(module, None)
    return loss, grad


def _apply(params, torch_opt, g, clip) -> None:
    import torch
    i = 0
    for p in params:
        k = p.numel()
        p.grad = g[i:i + k].reshape(p.shape).to(p.dtype).clone()
        i += k
    if clip:
        torch.nn.utils.clip_grad_norm_(params, clip)
    torch_opt.step()


def online_step(gradient, module, params, torch_opt, X, Y, W, options) -> float:
    """One pass of a forward-mode gradient (rtrl's, crbp's) over a batch: weights updated
    after every step (options["online"]) or once at the end; returns the loss."""
    import torch
    clip = options["clip"]
    on_step = None
    if options["online"]:
        def on_step(g_t):
            _apply(params, torch_opt, g_t, clip)
            return torch.cat([p.detach().reshape(-1) for p in params])
    loss, grad = gradient(module, X, Y, W, on_step)
    if not options["online"] and np.isfinite(loss):
        _apply(params, torch_opt, grad, clip)
    return loss


def rtrl_step(module, params, torch_opt, X, Y, W, options) -> float:
    """One RTRL pass over a batch (online_step)."""
    return online_step(rtrl_gradient, module, params, torch_opt, X, Y, W, options)
