"""Validation of the arrays handed to the public functions, with messages that name
the argument, the expected shape (in the shared vocabulary N, T, D, H, V) and what
was given. The checks run once at the public boundary; inside, arrays are trusted.

Tests: tests/test_validation.py (the messages), tests/test_properties.py (any shape and
dtype).
"""
import re

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class ShapeChecker:
    """Binds named sizes (``N``, ``T``, ``D``, ``H``, ...) from the arrays it is shown
    and raises ``ValueError`` when a later array disagrees.

    >>> check = ShapeChecker()
    >>> x = check("x", np.zeros((3, 7, 5)), "NTD")
    >>> h0 = check("h0", np.zeros((3, 6)), "NH")
    >>> check.sizes["N"], check.sizes["H"]
    (3, 6)

    A size written ``4H`` is four times ``H``: ``check("Wh", Wh, ("H", "4H"))``
    binds H from the first axis and requires 4H on the second.

    Floating arrays must all share the dtype of the first one (float32 or float64).
    """

    def __init__(self, **sizes):
        self.sizes = dict(sizes)
        self.dtype = None
        self.dtype_source = None

    def __call__(self, name, array, dims, floating=True):
        if not (hasattr(array, "shape") and hasattr(array, "dtype")):
            raise ValueError(
                f"{name}: expected an array of shape {self._expected(dims)}, "
                f"got {type(array).__name__}"
            )
        if array.ndim != len(dims):
            raise ValueError(
                f"{name}: expected a {len(dims)}-D array of shape {self._expected(dims)}, "
                f"got shape {tuple(array.shape)}"
            )
        for dim, size in zip(dims, array.shape):
            expected = self._size(dim)
            if expected is None:
                self.sizes[dim] = size
            elif expected != size:
                raise ValueError(
                    f"{name}: expected shape {self._expected(dims)}, got {tuple(array.shape)}"
                )
        if floating:
            self._check_dtype(name, array)
        return array

    def _check_dtype(self, name, array):
        if self.dtype is None:
            if array.dtype not in FLOAT_DTYPES:
                raise ValueError(f"{name}: expected dtype float32 or float64, got {array.dtype}")
            self.dtype, self.dtype_source = array.dtype, name
        elif array.dtype != self.dtype:
            raise ValueError(
                f"{name}: expected dtype {self.dtype} (the dtype of {self.dtype_source}), "
                f"got {array.dtype}"
            )

    def _size(self, dim):
        """The bound size of ``dim``, derived for a multiple such as ``4H``, literal for a
        number such as ``2``; None if unknown."""
        if dim.isdigit():
            return int(dim)
        multiple = re.fullmatch(r"(\d+)(\w+)", dim)
        if multiple and multiple[2] in self.sizes:
            return int(multiple[1]) * self.sizes[multiple[2]]
        return self.sizes.get(dim)

    def _expected(self, dims):
        sizes = [self._size(dim) for dim in dims]
        names = ", ".join(dims)
        values = ", ".join("?" if size is None else str(size) for size in sizes)
        if len(dims) == 1:
            names, values = names + ",", values + ","
        return f"({names})" if all(s is None for s in sizes) else f"({names}) = ({values})"


def check_cell(x, h0, Wx, Wh, b, x_dims, state_name, width, b_dims=None):
    """The inputs of a one-state cell: x ``x_dims`` ("NTD" or "ND"), Wx (D, width),
    Wh (H, width), b ``b_dims`` (default (width,)), the state (N, H), e.g. width "3H"."""
    check = ShapeChecker()
    check("x", x, x_dims)
    check("Wh", Wh, ("H", width))
    check("Wx", Wx, ("D", width))
    check("b", b, b_dims or (width,))
    check(state_name, h0, "NH")


def check_ids(name, ids, upper):
    """Integer ids in ``[0, upper)``; returns them unchanged."""
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name}: expected integer ids, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= upper):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise ValueError(f"{name}: ids must lie in [0, {upper}), got id {int(bad)}")
    return ids


def check_bound(name, value):
    """A clip bound: positive, or None for no clipping; ValueError naming ``name``."""
    if value is not None and not value > 0:
        raise ValueError(f"{name}: expected a positive bound or None, got {value!r}")
    return value
