"""RNN, LSTM, GRU and their cells: NumPy reference steps, PyTorch with the same state dict,
float64 finite differences, errors, and an LSTM that learns a fixed batch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

RNG = np.random.default_rng(0)


# --- NumPy reference steps (PyTorch's equations and gate order) -------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_rnn_tanh(x, h, w_ih, w_hh, b_ih, b_hh):
    return np.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def np_rnn_relu(x, h, w_ih, w_hh, b_ih, b_hh):
    return np.maximum(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 0)


def np_lstm(x, state, w_ih, w_hh, b_ih, b_hh):
    h, c = state
    i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def np_gru(x, h, w_ih, w_hh, b_ih, b_hh):
    x_r, x_z, x_n = np.split(x @ w_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h @ w_hh.T + b_hh, 3, axis=1)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


# name, functional cell, reference, gates
CELLS = [
    ("rnn_tanh", F.rnn_tanh_cell, np_rnn_tanh, 1),
    ("rnn_relu", F.rnn_relu_cell, np_rnn_relu, 1),
    ("lstm", F.lstm_cell, np_lstm, 4),
    ("gru", F.gru_cell, np_gru, 3),
]
B, I, H = 3, 5, 4


def cell_arrays(gates, dtype=np.float32):
    shapes = [(B, I), (B, H), (gates * H, I), (gates * H, H), (gates * H,), (gates * H,), (B, H)]
    return [RNG.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("name, cell, reference, gates", CELLS, ids=[c[0] for c in CELLS])
def test_cells_match_numpy(device, name, cell, reference, gates):
    x, h, w_ih, w_hh, b_ih, b_hh, c = cell_arrays(gates)
    t = [tg.tensor(a, device=device) for a in (x, h, w_ih, w_hh, b_ih, b_hh, c)]
    if name == "lstm":
        got = cell(t[0], (t[1], t[6]), *t[2:6])
        want = reference(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    else:
        got = (cell(*t[:6]),)
        want = (reference(x, h, w_ih, w_hh, b_ih, b_hh),)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, cell, reference, gates", CELLS, ids=[c[0] for c in CELLS])
def test_cell_gradients_match_finite_differences(device, name, cell, reference, gates):
    arrays = cell_arrays(gates, np.float64)
    inputs = [tg.tensor(a, device=device, requires_grad=True) for a in arrays]
    if name == "lstm":

        def fn(x, h, w_ih, w_hh, b_ih, b_hh, c):
            h2, c2 = cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
            return tg.cat([h2, c2], 1)

    else:

        def fn(x, h, w_ih, w_hh, b_ih, b_hh, c):
            return cell(x, h, w_ih, w_hh, b_ih, b_hh)

    assert tg.autograd.gradcheck(fn, inputs)


# --- layers against PyTorch ------------------------------------------------------------------
LAYERS = [
    ("LSTM", {"num_layers": 2}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {"num_layers": 3, "bias": False}),
    ("GRU", {"bidirectional": True}),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
    ("RNN", {"num_layers": 2, "batch_first": True}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("kind, options", LAYERS, ids=str)
@pytest.mark.parametrize("initial_state", [False, True], ids=["zeros", "hx"])
def test_layers_match_pytorch_with_its_state_dict(device, kind, options, initial_state):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, kind)(I, H, **options)
    ours = getattr(nn, kind)(I, H, **options, device=device)
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)  # the same names, in the same order
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in state.items()})
    batch_first = options.get("batch_first", False)
    x = RNG.standard_normal((B, 6, I) if batch_first else (6, B, I)).astype(np.float32)
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    hx = [RNG.standard_normal((layers, B, H)).astype(np.float32) for _ in range(2)]
    t_args = [torch.tensor(x, requires_grad=True)]
    g_args = [tg.tensor(x, device=device, requires_grad=True)]
    if initial_state:
        t_hx = [torch.tensor(a) for a in hx]
        g_hx = [tg.tensor(a, device=device) for a in hx]
        t_args.append(tuple(t_hx) if kind == "LSTM" else t_hx[0])
        g_args.append(tuple(g_hx) if kind == "LSTM" else g_hx[0])
    t_out, t_final = theirs(*t_args)
    g_out, g_final = ours(*g_args)
    t_finals = t_final if kind == "LSTM" else (t_final,)
    g_finals = g_final if kind == "LSTM" else (g_final,)
    np.testing.assert_allclose(g_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    for g, t in zip(g_finals, t_finals, strict=True):
        np.testing.assert_allclose(g.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-5)
    probe = RNG.standard_normal(t_out.shape).astype(np.float32)
    ((t_out * torch.tensor(probe)).sum() + t_finals[-1].sum()).backward()
    ((g_out * tg.tensor(probe, device=device)).sum() + g_finals[-1].sum()).backward()
    np.testing.assert_allclose(g_args[0].grad.numpy(), t_args[0].grad.numpy(), atol=1e-5)
    for name, param in ours.named_parameters():
        want = theirs.get_parameter(name).grad.numpy()
        np.testing.assert_allclose(param.grad.numpy(), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_layer_gradients_match_finite_differences(device, kind):
    layer = getattr(nn, kind)(2, 3, num_layers=2, bidirectional=True).to(device).double()
    x = tg.randn(4, 2, 2, dtype=tg.float64, device=device, requires_grad=True)  # (T, B, I)
    h0 = tg.randn(4, 2, 3, dtype=tg.float64, device=device, requires_grad=True)

    def fn(x, h0):
        hx = (h0, h0 * 0.5) if kind == "LSTM" else h0
        out, _ = layer(x, hx)
        return out

    assert tg.autograd.gradcheck(fn, [x, h0])


def test_unbatched_input_and_shapes(device):
    lstm = nn.LSTM(I, H, num_layers=2, device=device)
    out, (h, c) = lstm(tg.randn(7, I, device=device))  # (T, I)
    assert out.shape == (7, H) and h.shape == (2, H) and c.shape == (2, H)
    gru = nn.GRU(I, H, batch_first=True, bidirectional=True, device=device)
    out, h = gru(tg.randn(B, 7, I, device=device))
    assert out.shape == (B, 7, 2 * H) and h.shape == (2, B, H)
    out2, _ = gru(tg.randn(B, 7, I, device=device), h)  # the final state feeds the next call
    assert out2.shape == out.shape


def test_cell_modules(device):
    x = tg.randn(B, I, device=device)
    h, c = nn.LSTMCell(I, H, device=device)(x)
    assert h.shape == c.shape == (B, H)
    assert nn.GRUCell(I, H, device=device)(x, h).shape == (B, H)
    assert nn.RNNCell(I, H, nonlinearity="relu", device=device)(x).shape == (B, H)
    names = [name for name, _ in nn.LSTMCell(I, H).named_parameters()]
    assert names == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def test_init_is_uniform_within_one_over_sqrt_hidden(device):
    lstm = nn.LSTM(I, 16, num_layers=2, device=device)
    bound = 1 / math.sqrt(16)
    for name, param in lstm.named_parameters():
        values = param.numpy()
        assert np.abs(values).max() <= bound, name
        assert values.std() > bound / 2.5, name  # U(-b, b) has std b / sqrt(3)


def test_errors_name_the_layer_and_shapes(device):
    lstm = nn.LSTM(I, H, device=device)
    with pytest.raises(
        tg.ShapeError, match=r"LSTM\(5, 4\): expected input \(T, B, I\).*\(6, 2, 3\)"
    ):
        lstm(tg.randn(6, 2, 3, device=device))
    with pytest.raises(tg.ShapeError, match=r"initial state should be \(1, 2, 4\)"):
        lstm(tg.randn(6, 2, I, device=device), (tg.zeros(2, 2, H), tg.zeros(2, 2, H)))
    with pytest.raises(tg.ShapeError, match=r"GRU.*\(B, T, I\)"):
        nn.GRU(I, H, batch_first=True)(tg.randn(B, 0, I, device=device))
    with pytest.raises(tg.ShapeError, match=r"gru_cell: hidden state \(3, 5\)"):
        F.gru_cell(tg.randn(3, I), tg.randn(3, 5), tg.randn(3 * H, I), tg.randn(3 * H, H))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(I, H, nonlinearity="sigmoid")


def test_an_lstm_overfits_a_fixed_batch(device):
    """Predict the next value of four fixed random sequences; the loss must fall 10x."""
    from tinygpt.optim import Adam

    tg.manual_seed(0)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(1, 16, batch_first=True)
            self.head = nn.Linear(16, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out)

    model = Model().to(device)
    series = tg.randn(4, 9, 1, device=device)
    x, y = series[:, :-1], series[:, 1:]
    optimizer = Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(80):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10, losses[::10]
