"""What a format can hold, and the one refusal message every converter gives.

Each converter keeps one table, layer class -> the cell options (``options_in_use`` of
rnnlab's layers) its format has; a layer of another class, or using another option, is
refused in one line naming what the format lacks.
"""


def check_supported(layer, supported, format_name, where=None):
    """Raise ValueError unless ``type(layer)`` is in ``supported`` (class -> option names)
    and every option the layer uses is among them."""
    where = where or layer.name
    kind = type(layer)
    if kind not in supported:
        raise ValueError(f"{where}: {format_name} has no counterpart of rnnlab's {kind.__name__}")
    lacking = [f"{name}={value!r}" for name, value in layer.options_in_use().items()
               if name not in supported[kind]]
    if lacking:
        raise ValueError(f"{where}: {format_name}'s {kind.__name__} has no {', '.join(lacking)} "
                         f"(rnnlab's {layer.name} uses it)")
