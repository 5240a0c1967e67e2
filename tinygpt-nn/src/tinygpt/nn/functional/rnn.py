"""The maths of one recurrent step: Elman RNN (tanh or relu), LSTM and GRU, PyTorch's gates.

A recurrent layer spends most of its time on `x_t @ W_ih^T`, which does not depend on the
previous state, so `nn.LSTM` & co. compute it for every timestep in one matmul first and then
call the `*_step` functions below with the projected input `xp_t`. The `*_cell` functions do
both for a single timestep, like `torch.nn.LSTMCell`.

Weights are stacked by gate in PyTorch's order, so PyTorch checkpoints load unchanged:
LSTM (i, f, g, o), GRU (r, z, n); `w_ih` (G*H, I), `w_hh` (G*H, H), biases (G*H,).

>>> import tinygpt as tg
>>> from tinygpt.nn.functional import lstm_cell
>>> x, h, c = tg.ones(2, 3), tg.zeros(2, 4), tg.zeros(2, 4)  # (B, I), (B, H), (B, H)
>>> h, c = lstm_cell(x, (h, c), tg.zeros(16, 3), tg.zeros(16, 4))
>>> h.shape, round(c[0, 0].item(), 4)  # c = sigmoid(0) * tanh(0) + sigmoid(0) * 0
((2, 4), 0.0)
"""

from __future__ import annotations

from tinygpt import ShapeError, Tensor

__all__ = [
    "rnn_tanh_cell",
    "rnn_relu_cell",
    "lstm_cell",
    "gru_cell",
    "rnn_step",
    "lstm_step",
    "gru_step",
]


def _hidden_part(h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """h @ W_hh^T + b_hh: (B, H) -> (B, G*H)."""
    out = h @ w_hh.mT
    return out if b_hh is None else out + b_hh


def rnn_step(
    xp: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, nonlinearity: str = "tanh"
) -> Tensor:
    """h' = act(xp + h @ W_hh^T + b_hh), where xp = x @ W_ih^T + b_ih.  (B, H) -> (B, H)."""
    pre = xp + _hidden_part(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_step(
    xp: Tensor, state: tuple[Tensor, Tensor], w_hh: Tensor, b_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
    """One LSTM step: xp (B, 4H) projected input, state (h, c) each (B, H) -> (h', c')."""
    h, c = state
    gates = xp + _hidden_part(h, w_hh, b_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, 1)  # each (B, H)
    # the forget gate scales the old memory, the input gate admits the candidate g
    c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_next = o.sigmoid() * c_next.tanh()
    return h_next, c_next


def gru_step(xp: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """One GRU step: xp (B, 3H) projected input, h (B, H) -> h' (B, H)."""
    x_r, x_z, x_n = xp.chunk(3, 1)
    h_r, h_z, h_n = _hidden_part(h, w_hh, b_hh).chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    # subtle: the reset gate multiplies h @ W_hn^T + b_hn, bias included (PyTorch, cuDNN)
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)  # = (1 - z) * n + z * h


def _project(x: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    out = x @ w_ih.mT  # (B, I) -> (B, G*H)
    return out if b_ih is None else out + b_ih


def _check_cell(op: str, x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, gates: int) -> None:
    hidden = w_hh.shape[-1]
    if x.ndim != 2 or x.shape[1] != w_ih.shape[1] or w_ih.shape[0] != gates * hidden:
        raise ShapeError(
            f"{op}: input {x.shape} does not fit w_ih {w_ih.shape}; expected (B, "
            f"{w_ih.shape[1]}) and w_ih ({gates} * hidden, input_size)"
        )
    if h.shape != (x.shape[0], hidden):
        raise ShapeError(f"{op}: hidden state {h.shape} should be {(x.shape[0], hidden)}")


def rnn_tanh_cell(
    input: Tensor,  # noqa: A002 - the PyTorch name
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """h' = tanh(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh).  x (B, I), h (B, H) -> (B, H)."""
    _check_cell("rnn_tanh_cell", input, hx, w_ih, w_hh, 1)
    return rnn_step(_project(input, w_ih, b_ih), hx, w_hh, b_hh, "tanh")


def rnn_relu_cell(
    input: Tensor,  # noqa: A002 - the PyTorch name
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """h' = relu(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh).  x (B, I), h (B, H) -> (B, H)."""
    _check_cell("rnn_relu_cell", input, hx, w_ih, w_hh, 1)
    return rnn_step(_project(input, w_ih, b_ih), hx, w_hh, b_hh, "relu")


def lstm_cell(
    input: Tensor,  # noqa: A002 - the PyTorch name
    hx: tuple[Tensor, Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step from the raw input: x (B, I), (h, c) each (B, H) -> (h', c')."""
    _check_cell("lstm_cell", input, hx[0], w_ih, w_hh, 4)
    return lstm_step(_project(input, w_ih, b_ih), hx, w_hh, b_hh)


def gru_cell(
    input: Tensor,  # noqa: A002 - the PyTorch name
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One GRU step from the raw input: x (B, I), h (B, H) -> h' (B, H)."""
    _check_cell("gru_cell", input, hx, w_ih, w_hh, 3)
    return gru_step(_project(input, w_ih, b_ih), hx, w_hh, b_hh)
