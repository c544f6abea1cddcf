"""The PyTorch twin of rnnlab's LanguageModel for the benchmarks: nn.Embedding ->
nn.LSTM -> nn.Linear, trained and sampled the way rnnlab does it."""
import numpy as np
import torch


class TorchLanguageModel(torch.nn.Module):
    def __init__(self, V, embedding_dim, hidden_size, num_layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, embedding_dim)
        self.lstm = torch.nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.out = torch.nn.Linear(hidden_size, V)
        with torch.no_grad():  # forget-gate bias 1, as rnnlab (rows i, f, g, o)
            for layer in range(num_layers):
                getattr(self.lstm, f"bias_ih_l{layer}")[hidden_size : 2 * hidden_size] = 1.0
                getattr(self.lstm, f"bias_hh_l{layer}").zero_()

    def forward(self, ids, state=None):
        h, state = self.lstm(self.embedding(ids), state)
        return self.out(h), state


def torch_loss(model, x, y, state):
    scores, state = model(torch.from_numpy(x), state)
    V = scores.shape[-1]
    loss = torch.nn.functional.cross_entropy(scores.reshape(-1, V), torch.from_numpy(y).reshape(-1))
    return loss, tuple(s.detach() for s in state)


def torch_sample(model, length, prime, seed, temperature=0.8):
    """Step-by-step generation, one token per forward call (as rnnlab's sample)."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    with torch.no_grad():
        scores, state = model(torch.tensor([list(prime)]))
        for _ in range(length):
            probs = torch.softmax(scores[0, -1] / temperature, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)
            out.append(int(token))
            scores, state = model(token.view(1, 1), state)
    return np.array(out)


def torch_evaluate(model, ids, batch_size, seq_length):
    """The mean loss over ``ids`` in connected batches, the state carried through."""
    from rnnlab.data import LanguageModelBatches

    losses, state = [], None
    with torch.no_grad():
        for x, y in LanguageModelBatches(ids, batch_size, seq_length).batches():
            loss, state = torch_loss(model, x, y, state)
            losses.append(loss.item())
    return float(np.mean(losses))
