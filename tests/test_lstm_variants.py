"""Every LSTM option, alone and combined: finite differences of every input, weight and
state (float64), step-vs-sequence, and behaviour that pins each option's meaning."""
import numpy as np
import pytest
from conftest import assert_gradients

from rnnlab.functional import (
    lstm_backward,
    lstm_forward,
    lstm_inference,
    lstm_step_backward,
    lstm_step_forward,
)
from rnnlab.functional.lstm import DEPTH_GATE_KEYS
from rnnlab.testing import rel_error

VARIANTS = {
    "peepholes_ifo": dict(peepholes="ifo"),
    "peephole_f": dict(peepholes="f"),
    "peephole_o": dict(peepholes="o"),
    "cifg": dict(cifg=True),
    "cifg_peepholes": dict(cifg=True, peepholes="fo"),
    "projection": dict(P=4),
    "cell_clip": dict(cell_clip=0.4),
    "gate_clip": dict(gate_clip=0.8),
    "gate_clip_peepholes": dict(gate_clip=0.8, peepholes="ifo"),
    "layer_norm": dict(layer_norm=True),
    "depth_gate": dict(depth_gate=True),
    "everything": dict(peepholes="ifo", P=4, cell_clip=0.6, gate_clip=1.5, layer_norm=True,
                       depth_gate=True),
    "everything_cifg": dict(cifg=True, peepholes="fo", P=5, cell_clip=0.6, gate_clip=1.5,
                            layer_norm=True, depth_gate=True),
    "activations_smooth": dict(activations=("softsign", ("scaledtanh", 1.5, 0.7), "softplus")),
    "activations_kinked": dict(activations=(("hardsigmoid", 0.3, 0.45), "elu", ("leakyrelu", 0.2))),
    "activations_more": dict(activations=(("affine", 0.4, 0.3), "relu", ("thresholdedrelu", 0.1))),
    "activations_everything": dict(activations=("keras2_hard_sigmoid", "softsign", "elu"),
                                   peepholes="ifo", P=4, gate_clip=1.5, layer_norm=True,
                                   depth_gate=True),
}


def make_variant(rng, N, T, D, H, peepholes="", cifg=False, P=None, cell_clip=None,
                 gate_clip=None, layer_norm=False, depth_gate=False, activations=None):
    """-> (arrays: name -> array the forward reads, call: () -> lstm_forward kwargs)."""
    G = (3 if cifg else 4) * H
    out = P or H
    r = lambda *shape, scale=1.0: rng.standard_normal(shape) * scale  # noqa: E731
    arrays = dict(x=r(N, T, D), h0=r(N, out), c0=r(N, H), Wx=r(D, G, scale=D**-0.5),
                  Wh=r(out, G, scale=out**-0.5), b=r(G, scale=0.3))
    arrays.update({f"p_{g}": r(H, scale=0.5) for g in peepholes})
    if P:
        arrays["Wp"] = r(H, P, scale=H**-0.5)
    if layer_norm:
        arrays.update(gamma_x=1 + r(G, scale=0.2), gamma_h=1 + r(G, scale=0.2),
                      gamma_c=1 + r(H, scale=0.2), beta_c=r(H, scale=0.2))
    if depth_gate:
        arrays.update(Wxd=r(D, H, scale=D**-0.5), bd=r(H, scale=0.3), w_c=r(H, scale=0.5),
                      w_l=r(H, scale=0.5), lower_c=r(N, T, H))

    def kwargs():
        a = arrays
        kw = dict(x=a["x"], h0=a["h0"], Wx=a["Wx"], Wh=a["Wh"], b=a["b"], c0=a["c0"],
                  peepholes={f"p_{g}": a[f"p_{g}"] for g in peepholes}, cifg=cifg, Wp=a.get("Wp"),
                  cell_clip=cell_clip, gate_clip=gate_clip, activations=activations)
        if layer_norm:
            kw["layer_norm"] = {k: a[k] for k in ("gamma_x", "gamma_h", "gamma_c", "beta_c")}
        if depth_gate:
            kw["depth_gate"] = {k: a[k] for k in DEPTH_GATE_KEYS}
            kw["lower_c"] = a["lower_c"]
        return kw

    return arrays, kwargs


def analytic_gradients(grads):
    """Flatten a Gradients result into name -> array, with make_variant's names."""
    named = dict(zip(["x", "h0", "Wx", "Wh", "b"], grads), c0=grads.dc0)
    named.update(getattr(grads, "dpeepholes", {}))
    if hasattr(grads, "dWp"):
        named["Wp"] = grads.dWp
    named.update(getattr(grads, "dlayer_norm", {}))
    if hasattr(grads, "ddepth_gate"):
        named.update(grads.ddepth_gate, lower_c=grads.dlower_c)
    return named


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("N,T,D,H", [(3, 6, 5, 6), (1, 1, 3, 4)])
def test_variant_matches_finite_differences(rng, variant, N, T, D, H):
    arrays, kwargs = make_variant(rng, N, T, D, H, **VARIANTS[variant])
    h, cache = lstm_forward(**kwargs())
    P = h.shape[2]
    dh, dh_final = rng.standard_normal(h.shape), rng.standard_normal((N, P))
    dc_final, dc = rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
    grads = lstm_backward(dh, cache, dh_final=dh_final, dc_final=dc_final, dc=dc)
    analytic = analytic_gradients(grads)
    assert set(analytic) == set(arrays)

    def f():
        h, cache = lstm_forward(**kwargs())
        return h, cache.final_h, cache.final_c, cache.cell_states

    assert_gradients(f, arrays, analytic, (dh, dh_final, dc_final, dc))


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_inference_equals_the_forward(rng, monkeypatch, variant):
    """lstm_inference runs the general steps a stretch at a time (here 2 steps, the last
    stretch 1): the forward's outputs and final state, the lower cells read in step."""
    from rnnlab.functional import lstm

    monkeypatch.setattr(lstm, "INFERENCE_STRETCH", 2 * 3 * 4 * 5)
    monkeypatch.setattr(lstm, "PROJECTION_ROWS", 1)
    _, kwargs = make_variant(rng, 3, 5, 4, 5, **VARIANTS[variant])
    want, cache = lstm_forward(**kwargs())
    got, (h_T, c_T) = lstm_inference(**kwargs())
    assert rel_error(got, want) < 1e-13
    assert rel_error(h_T, cache.final_h) < 1e-13 and rel_error(c_T, cache.final_c) < 1e-13


@pytest.mark.parametrize("variant", ["everything", "everything_cifg", "activations_everything"])
def test_variant_sequence_equals_steps(rng, variant):
    N, T, D, H = 3, 5, 4, 6
    arrays, kwargs = make_variant(rng, N, T, D, H, **VARIANTS[variant])
    kw = kwargs()
    h, cache = lstm_forward(**kw)
    dh = rng.standard_normal(h.shape)
    grads = analytic_gradients(lstm_backward(dh, cache))

    x, lower_c = kw.pop("x"), kw.pop("lower_c")
    prev_h, prev_c = kw.pop("h0"), kw.pop("c0")
    step_caches = []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, lower_c=lower_c[:, t], **kw)
        step_caches.append(step_cache)
        assert rel_error(prev_h, h[:, t]) < 1e-14
    totals, dprev_h, dprev_c = {}, np.zeros_like(prev_h), np.zeros_like(prev_c)
    for t in reversed(range(T)):
        step = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, step_caches[t])
        dx_t, dprev_h, dprev_c = step[:3]
        named = analytic_gradients(step.__class__((dx_t, dprev_h, *step[3:]), **{**vars(step), "dc0": dprev_c}))
        for k, v in named.items():
            if k in ("x", "lower_c"):
                totals.setdefault(k, np.zeros_like(grads[k]))[:, t] = v
            elif k not in ("h0", "c0"):
                totals[k] = totals.get(k, 0) + v
    totals.update(h0=dprev_h, c0=dprev_c)
    for k in grads:
        assert rel_error(totals[k], grads[k]) < 1e-12, k


def test_cifg_couples_input_to_forget(rng):
    arrays, kwargs = make_variant(rng, 2, 3, 4, 5, cifg=True)
    _, cache = lstm_forward(**kwargs())
    f, o, g = np.split(cache.gates, 3, axis=-1)
    c = cache.c
    np.testing.assert_allclose(c[1:], f * c[:-1] + (1 - f) * g, rtol=1e-12)


def test_cell_clip_bounds_the_cell_and_gate_clip_bounds_preactivations(rng):
    arrays, kwargs = make_variant(rng, 4, 10, 3, 5, cell_clip=0.3)
    arrays["b"] += 3.0  # drive the cells up
    _, cache = lstm_forward(**kwargs())
    assert np.abs(cache.c[1:]).max() == pytest.approx(0.3)
    arrays, kwargs = make_variant(rng, 4, 10, 3, 5, gate_clip=0.1)
    _, cache = lstm_forward(**kwargs())
    i, f, o, g = np.split(cache.gates, 4, axis=-1)
    bound = 1 / (1 + np.exp(-0.1))
    assert i.max() <= bound + 1e-15 and i.min() >= 1 - bound - 1e-15
    assert np.abs(g).max() <= np.tanh(0.1) + 1e-15


def test_projection_shapes(rng):
    arrays, kwargs = make_variant(rng, 2, 3, 4, 6, P=3)
    h, cache = lstm_forward(**kwargs())
    assert h.shape == (2, 3, 3) and cache.final_c.shape == (2, 6)


def test_depth_gate_passes_the_lower_cell_through(rng):
    """With f = i = 0 and d = 1, c_t is exactly the lower layer's cell."""
    arrays, kwargs = make_variant(rng, 2, 4, 3, 5, depth_gate=True)
    H = 5
    arrays["b"][: 2 * H] = -60.0  # i, f -> 0
    arrays["Wx"][:, : 2 * H] = 0
    arrays["Wh"][:, : 2 * H] = 0
    arrays["bd"][:] = 60.0  # d -> 1
    arrays["Wxd"][:] = arrays["w_c"][:] = arrays["w_l"][:] = 0
    _, cache = lstm_forward(**kwargs())
    np.testing.assert_allclose(cache.cell_states, arrays["lower_c"], atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(peepholes={"i": np.zeros(6)}),
         r"peepholes: expected keys among \('p_i', 'p_f', 'p_o'\), got \['i'\]"),
        (dict(cifg=True, peepholes={"p_i": np.zeros(6)}, Wx=np.zeros((5, 18)), Wh=np.zeros((6, 18)), b=np.zeros(18)),
         r"peepholes: expected keys among \('p_f', 'p_o'\), got \['p_i'\]"),
        (dict(peepholes={"p_f": np.zeros(5)}), r"peepholes\['p_f'\]: expected shape \(H,\) = \(6,\), got \(5,\)"),
        (dict(cifg=True), r"Wh: expected shape \(H, 3H\) = \(6, 18\), got \(6, 24\)"),
        (dict(Wp=np.zeros((6, 3))), r"Wh: expected shape \(P, 4H\) = \(3, 24\), got \(6, 24\)"),
        (dict(cell_clip=0), r"cell_clip: expected a positive bound or None, got 0"),
        (dict(gate_clip=-1.0), r"gate_clip: expected a positive bound or None, got -1.0"),
        (dict(layer_norm={"gamma_x": np.ones(24)}), r"layer_norm: expected keys \['beta_c', 'gamma_c', 'gamma_h', 'gamma_x'\]"),
        (dict(depth_gate={"Wxd": np.zeros((5, 6)), "bd": np.zeros(6), "w_c": np.zeros(6), "w_l": np.zeros(6)}),
         r"lower_c: expected the lower layer's cells exactly when depth_gate is given"),
    ],
)
def test_variant_options_reject_bad_input(kwargs, message):
    args = dict(x=np.zeros((3, 7, 5)), h0=np.zeros((3, 6)), Wx=np.zeros((5, 24)), Wh=np.zeros((6, 24)), b=np.zeros(24))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        lstm_forward(**args)


def test_depth_gated_stack_sends_gradient_into_the_lower_cell(rng):
    """Two layers of equal cell size: layer 2's depth gate reads layer 1's cells, and
    layer 2's dlower_c, passed to layer 1 as dc, gives the gradient of the whole stack."""
    N, T, D, H = 2, 5, 3, 4
    low, low_kwargs = make_variant(rng, N, T, D, H)
    high, high_kwargs = make_variant(rng, N, T, H, H, depth_gate=True)
    shared = dict(x=low["x"], Wx=low["Wx"], Wh=low["Wh"], b=low["b"], w_l=high["w_l"], Wxd=high["Wxd"])

    def stack():
        h1, cache1 = lstm_forward(**low_kwargs())
        high["x"], high["lower_c"] = h1, cache1.cell_states
        h2, cache2 = lstm_forward(**high_kwargs())
        return h2, cache1, cache2

    h2, cache1, cache2 = stack()
    dh2 = rng.standard_normal(h2.shape)
    g2 = lstm_backward(dh2, cache2)
    g1 = lstm_backward(g2[0], cache1, dc=g2.dlower_c)
    analytic = dict(x=g1[0], Wx=g1[2], Wh=g1[3], b=g1[4], w_l=g2.ddepth_gate["w_l"], Wxd=g2.ddepth_gate["Wxd"])
    assert_gradients(lambda: stack()[0], shared, analytic, dh2)


@pytest.mark.parametrize("cifg", [False, True])
def test_lstm_bias_sets_only_the_forget_gate(cifg):
    from rnnlab.functional import lstm_bias, split_gates

    b = lstm_bias(3, forget_bias=1.0, cifg=cifg)
    gates = ("f", "o", "g") if cifg else ("i", "f", "o", "g")
    blocks = dict(zip(gates, split_gates(b, gates)))
    assert b.shape == (len(gates) * 3,) and b.dtype == np.float32
    assert (blocks["f"] == 1.0).all() and b.sum() == 3.0
