"""Clockwork RNN (Koutnik, Greff, Gomez & Schmidhuber 2014).

The H hidden units form g modules of k = H / g units with periods T_1 < ... < T_g
(default 1, 2, 4, ...). At step t (counted from ``t0``, 0 for a fresh sequence) the
active modules are A_t = {i : t mod T_i = 0}:

    h_t[i] = tanh(x_t Wx[:, i] + h_{t-1} (Wh * M)[:, i] + b[i])    for i in A_t
    h_t[i] = h_{t-1}[i]                                            otherwise

M is the block mask M[j, i] = 1 iff T_j >= T_i: a module reads itself and the slower
modules (the paper's block-upper-triangular W_H, transposed to rnnlab's (H_in, H_out)
layout). Entries of Wh outside the mask are ignored and get zero gradient.

Inactive modules cost nothing: steps that share an active set are grouped, and the
input projection, the recurrent product and every weight gradient touch only the
active columns.

Tests: tests/test_clockwork.py, tests/test_recurrent_mask.py, the registry-driven layer
and model tests.
"""
from dataclasses import dataclass

import numpy as np

from .backend import array_module
from .checks import check_cell
from .recurrence import (
    Gradients,
    StateSequence,
    batch_first,
    check_recurrent_mask,
    dropped,
    step_backward_from_sequence,
    time_major,
    upstream_gradients,
)


def default_periods(num_modules):
    """1, 2, 4, ..., 2^(g-1), as in the paper's experiments."""
    return tuple(2**i for i in range(num_modules))


def module_mask(periods, H):
    """(H, H) float mask, M[j, i] = 1 iff module(j)'s period >= module(i)'s."""
    k = H // len(periods)
    period_of_unit = np.repeat(np.asarray(periods), k)
    return (period_of_unit[:, None] >= period_of_unit[None, :]).astype(np.float64)


def active_columns(periods, H, t):
    """Hidden-unit indices of the modules active at step t (t mod T_i == 0)."""
    k = H // len(periods)
    return np.concatenate([np.arange(i * k, (i + 1) * k) for i, p in enumerate(periods) if t % p == 0]
                          or [np.zeros(0, dtype=np.int64)])


@dataclass
class _Group:
    """The steps sharing one active set."""

    cols: object  # the active hidden units: a slice when contiguous (views, no copies)
    width: int  # how many units are active
    steps: list  # the steps t (0-based within the sequence) with this active set
    Wx: object  # (D, |cols|) the active input columns
    Wh: object  # (H, |cols|) the active masked recurrent columns


@dataclass(frozen=True)
class ClockworkCache(StateSequence):
    periods: tuple
    t0: int
    groups: list  # _Group per distinct active set
    group_of_step: list  # index into groups for each step
    x_by_step: object  # (T, N, D) inputs, time-major, indexed by step (x_tm elsewhere is (T*N, D))
    mask: object  # (H, H)
    h: object  # (T+1, N, H) h_0 .. h_T
    macs: int  # multiply-accumulates done by the forward's GEMMs
    recurrent_mask: object = None  # (N, H) variational recurrent dropout mask


def _check(x, h0, Wx, Wh, b, periods, x_dims, state_name):
    check_cell(x, h0, Wx, Wh, b, x_dims, state_name, "H")
    return check_periods(periods, Wh.shape[0])


def check_periods(periods, H):
    """Strictly increasing positive periods that split H units into equal modules."""
    periods = tuple(int(p) for p in periods)
    if not periods or any(p < 1 for p in periods) or list(periods) != sorted(set(periods)):
        raise ValueError(f"periods: expected strictly increasing positive integers, got {periods}")
    if H % len(periods):
        raise ValueError(f"periods: H = {H} must split into {len(periods)} equal modules")
    return periods


def clockwork_forward(x, h0, Wx, Wh, b, periods=None, t0=0, *, recurrent_mask=None):
    """Run the Clockwork RNN over a sequence.

    x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,), periods (g,) with H = g k
    (default: 4 modules, periods 1, 2, 4, 8), t0: the clock at the first step (carry
    it across truncated-BPTT batches) -> h (N, T, H), cache. ``recurrent_mask`` (N, H):
    variational recurrent dropout on h_{t-1} in the recurrent product.
    """
    periods = _check(x, h0, Wx, Wh, b, default_periods(4) if periods is None else periods,
                     "NTD", "h0")
    check_recurrent_mask(recurrent_mask, h0)
    return _forward(x, h0, Wx, Wh, b, periods, t0, recurrent_mask)


def _forward(x, h0, Wx, Wh, b, periods, t0, recurrent_mask=None):
    xp = array_module(x, h0, Wx, Wh, b)
    N, T, D = x.shape
    H = Wh.shape[0]
    mask = xp.asarray(module_mask(periods, H), dtype=Wh.dtype)
    Wh_masked = Wh * mask
    groups, group_of_step, index = [], [], {}
    for t in range(T):
        units = active_columns(periods, H, t0 + t)
        key = tuple(units)
        if key not in index:
            index[key] = len(groups)
            contiguous = len(units) and units[-1] - units[0] + 1 == len(units)
            cols = slice(int(units[0]), int(units[-1]) + 1) if contiguous else units
            groups.append(_Group(cols, len(units), [], Wx[:, cols], Wh_masked[:, cols]))
        groups[index[key]].steps.append(t)
        group_of_step.append(index[key])
    x_by_step = time_major(x)  # (T, N, D)
    h = xp.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = h0
    macs = 0
    a_of_step = {}
    for group in groups:  # input projection of all steps of a group in one GEMM
        a = x_by_step[group.steps] @ group.Wx  # (n_steps, N, |cols|)
        a += b[group.cols]
        a_of_step.update(zip(group.steps, a))
        macs += len(group.steps) * N * D * group.width
    for t in range(T):
        group = groups[group_of_step[t]]
        h[t + 1] = h[t]  # inactive modules keep their value
        a = a_of_step[t]  # (N, |cols|)
        a += dropped(h[t], recurrent_mask) @ group.Wh
        h[t + 1][:, group.cols] = xp.tanh(a, out=a)
        macs += N * H * group.width
    cache = ClockworkCache(periods, t0, groups, group_of_step, x_by_step, mask, h, macs, recurrent_mask)
    return batch_first(h[1:]), cache


def clockwork_backward(dh, cache, dh_final=None):
    """Backpropagation through time: dh (N, T, H), optional dh_final (N, H)
    -> (dx, dh0, dWx, dWh, db).

    For active units (A = A_t):   da = dh_t[A] (1 - h_t[A]^2)
                                  dh_{t-1} = dh_t[not A] (passed through) + (da (Wh M)[:, A]^T) * m
    For each group of steps with the same A, as GEMMs over its steps:
        dWx[:, A] = sum_t x_t^T da_t,   dWh[:, A] = sum_t (h_{t-1} m)^T da_t (then * M),
        db[A] = sum da_t,               dx_t = da_t Wx[:, A]^T
    """
    xp = array_module(dh)
    T, N, H = cache.h.shape[0] - 1, cache.h.shape[1], cache.h.shape[2]
    dh_tm, dh_next = upstream_gradients(dh, dh_final, T, N, H)  # (T, N, H), (N, H)
    h = cache.h
    da_of_step = {}
    for t in reversed(range(T)):
        group = cache.groups[cache.group_of_step[t]]
        dh_t = dh_tm[t] + dh_next
        h_active = h[t + 1][:, group.cols]
        da = dh_t[:, group.cols] * (1 - h_active * h_active)  # backprop through tanh
        da_of_step[t] = da
        dh_next = dh_t
        dh_next[:, group.cols] = 0  # active units do not pass their gradient through
        dh_next += dropped(da @ group.Wh.T, cache.recurrent_mask)
    D = cache.x_by_step.shape[2]
    dx_tm = xp.zeros((T, N, D), dtype=dh.dtype)
    dWx = xp.zeros((D, H), dtype=dh.dtype)
    dWh = xp.zeros((H, H), dtype=dh.dtype)
    db = xp.zeros(H, dtype=dh.dtype)
    for group in cache.groups:
        steps = group.steps
        da = xp.concatenate([da_of_step[t] for t in steps])  # (steps * N, active units)
        x_g = cache.x_by_step[steps].reshape(len(steps) * N, D)
        dWx[:, group.cols] += x_g.T @ da  # groups share columns: accumulate
        h_prev = dropped(h[steps], cache.recurrent_mask)  # (steps, N, H)
        dWh[:, group.cols] += h_prev.reshape(len(steps) * N, H).T @ da
        db[group.cols] += da.sum(axis=0)
        dx_tm[steps] = (da @ group.Wx.T).reshape(len(steps), N, D)
    dWh *= cache.mask
    return Gradients((batch_first(dx_tm), dh_next, dWx, dWh, db))


def clockwork_step_forward(x, prev_h, Wx, Wh, b, periods=None, t=0):
    """One step at clock ``t``: x (N, D), prev_h (N, H) -> next_h (N, H), cache."""
    periods = _check(x, prev_h, Wx, Wh, b, default_periods(4) if periods is None else periods,
                     "ND", "prev_h")
    h, cache = _forward(x[:, None], prev_h, Wx, Wh, b, periods, t)
    return h[:, 0], cache


def clockwork_step_backward(dnext_h, cache):
    """-> (dx, dprev_h, dWx, dWh, db) for one step."""
    return step_backward_from_sequence(clockwork_backward, dnext_h, cache)
