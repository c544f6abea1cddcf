"""The cell activations of ONNX and Keras (``functional.gate_activations``): each formula
against its definition, each derivative against finite differences (float64), the two
hard sigmoids of Keras told apart, specs and their JSON form."""
import numpy as np
import pytest

from rnnlab.functional.gate_activations import NAMES, gate_activation

DEFINITIONS = {  # name, alpha, beta -> the formula as written in the ONNX operator docs
    ("sigmoid",): lambda a: 1 / (1 + np.exp(-a)),
    ("tanh",): np.tanh,
    ("relu",): lambda a: np.maximum(a, 0),
    ("affine", 0.6, 0.1): lambda a: 0.6 * a + 0.1,
    ("leakyrelu", 0.3): lambda a: np.where(a >= 0, a, 0.3 * a),
    ("thresholdedrelu", 0.4): lambda a: np.where(a > 0.4, a, 0),
    ("scaledtanh", 1.5, 0.7): lambda a: 1.5 * np.tanh(0.7 * a),
    ("hardsigmoid", 0.3, 0.45): lambda a: np.minimum(np.maximum(0.3 * a + 0.45, 0), 1),
    ("elu", 0.8): lambda a: np.where(a >= 0, a, 0.8 * (np.exp(a) - 1)),
    ("softsign",): lambda a: a / (1 + np.abs(a)),
    ("softplus",): lambda a: np.log1p(np.exp(a)),
}


@pytest.mark.parametrize("spec", DEFINITIONS, ids=lambda s: s[0])
def test_each_activation_is_its_definition_and_its_derivative_its_slope(spec):
    act = gate_activation(spec if len(spec) > 1 else spec[0])
    a = np.random.default_rng(0).uniform(-4, 4, 2000)
    np.testing.assert_allclose(act(a.copy()), DEFINITIONS[spec](a), rtol=1e-12, atol=1e-15)
    eps = 1e-6
    numeric = (DEFINITIONS[spec](a + eps) - DEFINITIONS[spec](a - eps)) / (2 * eps)
    smooth = np.abs(numeric - np.round(numeric, 3)) >= 0  # every point ...
    kinks = {"relu": [0], "leakyrelu": [0], "thresholdedrelu": [0.4], "hardsigmoid": [-1.5, 1.833333]}
    for kink in kinks.get(spec[0], []):
        smooth &= np.abs(a - kink) > 1e-4  # ... away from a kink
    analytic = act.derivative(a, act(a.copy()))
    np.testing.assert_allclose(analytic[smooth], numeric[smooth], rtol=1e-6, atol=1e-8)


def test_keras_3_and_keras_2_hard_sigmoids_are_told_apart():
    a = np.linspace(-4, 4, 81)
    keras3 = np.minimum(np.maximum(a + 3, 0), 6) / 6  # relu6(x + 3) / 6
    keras2 = np.clip(0.2 * a + 0.5, 0, 1)
    np.testing.assert_allclose(gate_activation("hard_sigmoid")(a.copy()), keras3, atol=1e-15)
    np.testing.assert_allclose(gate_activation("keras2_hard_sigmoid")(a.copy()), keras2, atol=1e-15)
    assert not np.allclose(keras3, keras2)
    assert gate_activation("keras2_hard_sigmoid").spec == "hardsigmoid"  # ONNX's default 0.2, 0.5


def test_specs_and_their_json_form():
    for name in NAMES:
        assert gate_activation(gate_activation(name).spec) == gate_activation(name)
    assert gate_activation(["ScaledTanh", 2, 0.5]).spec == ["scaledtanh", 2.0, 0.5]
    assert gate_activation("linear").spec == ["affine", 1.0, 0.0]
    for bad in ("swish", ("elu", float("nan")), 3):
        with pytest.raises(ValueError, match="activation: expected one of"):
            gate_activation(bad)
