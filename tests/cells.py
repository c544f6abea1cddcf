"""The cells the generic tests run, built from the registry (``models.stack.CELLS``):
every registered cell with its defaults, plus the option variants worth testing. A new
cell in the registry is covered by every generic test at once; SPECS only says what a
cell needs beyond its defaults or which variants of it matter."""
from rnnlab.models.stack import CELLS

UNITS = 6
SPECS = {  # cell -> list of constructor options (units: the layer's size when not UNITS)
    "rnn": [{}, {"activation": "relu"}, {"recurrent_bias": True}],
    "lstm": [{}, {"recurrent_bias": True}, {"peepholes": "fo", "cifg": True, "proj_size": 3},
             {"peepholes": "ifo", "cell_clip": 3.0, "gate_clip": 5.0}],
    "gru": [{}, {"reset_after": False}],
    "clockwork": [{"units": 8, "periods": (1, 2)}],
    "depth_gated_lstm": [{"units": 5, "num_layers": 3}],
}
# what a language model of the cell takes (its layers' sizes come from the model)
MODEL_SPECS = {"clockwork": [{"periods": (1, 2)}],
               "lstm": [{}, {"peepholes": "ifo", "cell_clip": 2.0, "proj_size": 3},
                        {"cifg": True, "gate_clip": 1.5}],
               "gru": [{}, {"reset_after": False}]}


def _name(cell, options):
    return cell + "".join(f"-{key}={value}" for key, value in options.items() if key != "units")


def _factory(layer_class, spec):
    options = {k: v for k, v in spec.items() if k != "units"}

    def make(units=None, **layer_options):
        return layer_class(units or spec.get("units", UNITS), **options, **layer_options)
    return make


def layer_factories():
    """name -> make(units=None, **layer options) -> a layer, for every registered cell
    and variant."""
    return {_name(cell, spec): _factory(layer_class, spec)
            for cell, layer_class in CELLS.items() for spec in SPECS.get(cell, [{}])}


def defaults():
    """cell -> make(units=None, **layer options) of each registered cell, its first spec."""
    return {cell: _factory(layer_class, SPECS.get(cell, [{}])[0])
            for cell, layer_class in CELLS.items()}


def model_variants():
    """[(cell, options)] of a LanguageModel for every registered cell and variant."""
    return [(cell, spec) for cell in CELLS for spec in MODEL_SPECS.get(cell, [{}])]
