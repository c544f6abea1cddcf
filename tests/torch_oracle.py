"""Weights moved between PyTorch's recurrent modules and rnnlab's functional layout.

PyTorch stores weight_ih (G, D) with LSTM gate rows i, f, g, o and separate b_ih, b_hh;
rnnlab uses Wx (D, G) with LSTM gate columns i, f, o, g and one bias b = b_ih + b_hh.
"""
import numpy as np
import torch

TORCH_TO_RNNLAB_LSTM = [0, 1, 3, 2]  # rnnlab block k holds PyTorch block TORCH_TO_RNNLAB_LSTM[k]


def reorder_lstm_blocks(a, axis=-1):
    """Reorder the four gate blocks along ``axis`` from PyTorch's i,f,g,o to i,f,o,g."""
    blocks = np.split(np.asarray(a), 4, axis=axis)
    return np.concatenate([blocks[k] for k in TORCH_TO_RNNLAB_LSTM], axis=axis)


def rnnlab_weights(module, layer=0, lstm=True):
    """(Wx, Wh, b) of one layer of a torch RNN/LSTM module, as float64 NumPy arrays."""
    get = lambda name: getattr(module, f"{name}_l{layer}").detach().double().numpy()  # noqa: E731
    Wx, Wh, b = get("weight_ih").T, get("weight_hh").T, get("bias_ih") + get("bias_hh")
    if lstm:
        Wx, Wh, b = reorder_lstm_blocks(Wx), reorder_lstm_blocks(Wh), reorder_lstm_blocks(b)
    return np.ascontiguousarray(Wx), np.ascontiguousarray(Wh), b


def torch_gradients(module, layer=0, lstm=True):
    """(dWx, dWh, db) from a torch module's .grad fields, in rnnlab's layout."""
    get = lambda name: getattr(module, f"{name}_l{layer}").grad.double().numpy()  # noqa: E731
    dWx, dWh, db = get("weight_ih").T, get("weight_hh").T, get("bias_ih")
    if lstm:
        dWx, dWh, db = reorder_lstm_blocks(dWx), reorder_lstm_blocks(dWh), reorder_lstm_blocks(db)
    return dWx, dWh, db


def tensor(a, requires_grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def run_with_upstream(module, x, h0, dh, dh_final):
    """Run a torch RNN/GRU on (x, h0), backpropagate sum(out*dh) + sum(h_T*dh_final);
    -> (out, h_T, x tensor, h0 tensor), the tensors holding their .grad."""
    tx, th0 = tensor(x), tensor(h0[None])
    out, hT = module(tx, th0)
    (out * tensor(dh, False)).sum().add((hT[0] * tensor(dh_final, False)).sum()).backward()
    return out, hT, tx, th0
