"""How much memory training a model will take, known before anything is allocated.

The parameter count of a model is a polynomial of degree 2 in its embedding size E and
hidden size H (every weight matrix is (E or H or V) x (a multiple of H or V)):

    P(E, H) = c0 + c1 E + c2 H + c3 E^2 + c4 E H + c5 H^2

so it is fitted exactly from nine tiny models built with the same builder (E, H in
{4, 8, 12}) and evaluated at the real sizes: the model itself says how many weights it
has, without building it. Training then holds, per parameter, the weight, its gradient,
two optimizer moments and about two working copies (transposed, halved weights), and
per token of a batch the caches of every layer and three copies of the scores:

    bytes = itemsize * (6 P + N T (16 H layers + 3 V + E))
"""
import os

import numpy as np

PROBE_SIZES = (4, 8, 12)  # multiples of the Clockwork RNN's default 4 modules


def estimated_parameters(build, embedding_dim, hidden_size):
    """The parameter count of ``build(embedding_dim, hidden_size)`` (a function that
    returns a model), from the exact quadratic through nine small builds."""
    rows, counts = [], []
    for E in PROBE_SIZES:
        for H in PROBE_SIZES:
            rows.append([1, E, H, E * E, E * H, H * H])
            counts.append(build(E, H).count_params())
    coefficients = np.linalg.lstsq(np.array(rows, float), np.array(counts, float), rcond=None)[0]
    E, H = float(embedding_dim), float(hidden_size)
    return int(round(float(np.dot(coefficients, [1, E, H, E * E, E * H, H * H]))))


def training_bytes(parameters, batch_size, seq_length, hidden_size, num_layers, vocab_size,
                   embedding_dim, itemsize=4):
    """The estimate above, in bytes."""
    per_token = 16 * hidden_size * num_layers + 3 * vocab_size + embedding_dim
    return itemsize * (6 * parameters + batch_size * seq_length * per_token)


def available_memory():
    """Bytes of memory this process can still have (Linux's MemAvailable; elsewhere the
    free physical pages), None when the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
