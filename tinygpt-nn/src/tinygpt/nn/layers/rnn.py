"""Recurrent layers: RNN (tanh/relu), LSTM and GRU, multi-layer and optionally bidirectional,
plus the single-step RNNCell, LSTMCell and GRUCell.

Parameter names, shapes, gate order and init are PyTorch's, so a torch state dict loads key by
key: `weight_ih_l{k}` (G*H, I), `weight_hh_l{k}` (G*H, H), `bias_ih_l{k}`, `bias_hh_l{k}` (G*H,),
with a `_reverse` suffix for the backward direction; G = 1 (RNN), 4 (LSTM: i, f, g, o),
3 (GRU: r, z, n). Every parameter starts as U(-1/sqrt(H), 1/sqrt(H)).

Each layer projects the inputs of all timesteps in one matmul, then loops over time in Python
doing only the part that depends on the previous state (`h @ W_hh^T` and the gates).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> lstm = nn.LSTM(input_size=8, hidden_size=16, num_layers=2, batch_first=True)
>>> out, (h, c) = lstm(tg.randn(4, 10, 8))  # (B, T, I)
>>> out.shape, h.shape, c.shape  # (B, T, H), (num_layers, B, H) x2
((4, 10, 16), (2, 4, 16), (2, 4, 16))
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import functional as F
from .. import init
from ..functional import rnn as R
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence, pad_packed_sequence

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM; each (B, H)


class _RNNBase(Module):
    """The shared machinery; subclasses set `gates` and `_step` (one timestep's maths)."""

    gates = 1
    state_size = 1  # tensors in the recurrent state: 1, or 2 for LSTM's (h, c)
    # RNN and LSTM only ever use b_ih + b_hh, so both can join the batched projection;
    # GRU's b_hn sits inside r * (h @ W_hn^T + b_hn) and must stay in the step
    biases_add_up = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_layers < 1 or hidden_size < 1 or not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"{type(self).__name__}: need num_layers >= 1, hidden_size >= 1 and dropout in "
                f"[0, 1), got {num_layers}, {hidden_size}, {dropout}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.directions = 2 if bidirectional else 1
        rows = self.gates * hidden_size
        for layer in range(num_layers):
            inputs = input_size if layer == 0 else hidden_size * self.directions
            for suffix in ("", "_reverse")[: self.directions]:
                shapes: dict[str, tuple[int, ...]] = {
                    "weight_ih": (rows, inputs),
                    "weight_hh": (rows, hidden_size),
                }
                if bias:
                    shapes.update(bias_ih=(rows,), bias_hh=(rows,))
                for name, shape in shapes.items():
                    empty = tg.empty(*shape, device=device, dtype=dtype)
                    setattr(self, f"{name}_l{layer}{suffix}", Parameter(empty))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: every weight and bias U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _step(self, xp: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        raise NotImplementedError

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:  # noqa: A002
        """input (T, B, I), or (B, T, I) with batch_first, or unbatched (T, I) ->
        (output (T, B, D*H) / (B, T, D*H) / (T, D*H), final state (L*D, B, H) / (L*D, H)).

        A PackedSequence (`nn.utils.rnn`) in gives one out, packed the same way; the final
        state is then each sequence's state at its own last element."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        self._check_input(input)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)  # (T, B, I)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        x, final = self._layers(x, self._initial_states(hx, x.shape[1], x, batched))
        if not batched:
            x = x.squeeze(1)
            final = [f.squeeze(1) for f in final]
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, final[0] if self.state_size == 1 else tuple(final)

    def _layers(
        self, x: Tensor, states: list[State], masks: list[Tensor] | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        """Every layer and direction over x (T, B, I) -> (output (T, B, D*H), final states)."""
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                index = layer * self.directions + direction
                state, hs = self._run(x, layer, direction, states[index], masks)
                finals.append(state)
                outputs.append(hs)
            x = outputs[0] if self.directions == 1 else tg.cat(outputs, -1)  # (T, B, D*H)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)  # between layers only, as in PyTorch
        return x, [tg.stack([s[k] for s in finals]) for k in range(self.state_size)]

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
        """Run on the padded batch, each sequence's state frozen after its last element (so
        the reverse direction starts at it), and pack the output the same way."""
        padded, lengths = pad_packed_sequence(packed)  # (T, B, I), the batch's own order
        self._check_input(padded)
        running = lengths.to(padded.device)
        masks = [(running > t).unsqueeze(1) for t in range(padded.shape[0])]  # (B, 1) each
        states = self._initial_states(hx, padded.shape[1], padded, True)
        out, final = self._layers(padded, states, masks)
        if packed.sorted_indices is not None:
            out = out.index_select(1, packed.sorted_indices)
        sizes = [int(n) for n in packed.batch_sizes.tolist()]
        data = tg.cat([out[t, :count] for t, count in enumerate(sizes)])
        result = packed._replace(data=data)
        return result, final[0] if self.state_size == 1 else tuple(final)

    def _run(
        self,
        x: Tensor,
        layer: int,
        direction: int,
        state: State,
        masks: list[Tensor] | None = None,
    ) -> tuple[State, Tensor]:
        """One layer in one direction: x (T, B, I) -> (final state, hs (T, B, H)). With
        `masks` ((B, 1) bool per step), a sequence's state only changes where it is True."""
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        w_hh = getattr(self, "weight_hh" + suffix)
        b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
        b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        if b_ih is not None and b_hh is not None and self.biases_add_up:
            b_ih, b_hh = b_ih + b_hh, None  # one bias add for all timesteps instead of T
        # every timestep's input projection at once: (T, B, I) -> (T, B, G*H), one matmul
        xp = F.linear(x, getattr(self, "weight_ih" + suffix), b_ih)
        steps = list(xp.unbind(0))  # views; backward writes all their gradients into one
        order = list(range(len(steps)))
        if direction:
            order.reverse()
        hs = []
        for t in order:
            new = self._step(steps[t], state, w_hh, b_hh)
            if masks is not None:
                new = tuple(tg.where(masks[t], n, old) for n, old in zip(new, state, strict=True))
            state = new
            hs.append(state[0])
        if direction:
            hs.reverse()
        return state, tg.stack(hs)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size or 0 in x.shape:
            layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
            raise ShapeError(
                f"{type(self).__name__}({self.extra_repr()}): expected input {layout} or "
                f"unbatched (T, I) with I = {self.input_size} and T, B >= 1, got {x.shape}"
            )

    def _initial_states(self, hx: Any, batch: int, x: Tensor, batched: bool) -> list[State]:
        """hx as one State per (layer, direction); zeros when hx is None."""
        count = self.num_layers * self.directions
        if hx is None:
            zeros = tg.zeros(batch, self.hidden_size, dtype=x.dtype, device=x.device)
            return [(zeros,) * self.state_size] * count
        parts = (hx,) if self.state_size == 1 else tuple(hx)
        want = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        for part in parts:
            if not isinstance(part, Tensor) or part.shape != want:
                got = part.shape if isinstance(part, Tensor) else type(part).__name__
                raise ShapeError(
                    f"{type(self).__name__}: initial state should be {want} "
                    f"(num_layers * directions, B, H), got {got}"
                )
        if not batched:
            parts = tuple(p.unsqueeze(1) for p in parts)
        return [tuple(p[i] for p in parts) for i in range(count)]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text


class RNN(_RNNBase):
    """Elman RNN: h_t = act(x_t @ W_ih^T + b_ih + h_{t-1} @ W_hh^T + b_hh), act tanh or relu."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        **kwargs: Any,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, **kwargs)

    def _step(self, xp: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return (R.rnn_step(xp, state[0], w_hh, b_hh, self.nonlinearity),)


class LSTM(_RNNBase):
    """Long short-term memory; the state is (h, c) in and out: `out, (h_n, c_n) = lstm(x)`."""

    gates = 4
    state_size = 2

    def _step(self, xp: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        h, c = state
        return R.lstm_step(xp, (h, c), w_hh, b_hh)


class GRU(_RNNBase):
    """Gated recurrent unit: `out, h_n = gru(x)`."""

    gates = 3
    biases_add_up = False

    def _step(self, xp: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
        return (R.gru_step(xp, state[0], w_hh, b_hh),)


# --- single steps -------------------------------------------------------------------------


class _CellBase(Module):
    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        rows = self.gates * hidden_size
        self.weight_ih = Parameter(tg.empty(rows, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(tg.empty(rows, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(tg.empty(rows, device=device, dtype=dtype))
            self.bias_hh = Parameter(tg.empty(rows, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _zeros(self, x: Tensor) -> Tensor:
        return tg.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def _weights(self) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_CellBase):
    """One Elman step: x (B, I), h (B, H) or None -> h' (B, H)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        **kw: Any,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, **kw)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        h = self._zeros(x) if hx is None else hx
        cell = R.rnn_tanh_cell if self.nonlinearity == "tanh" else R.rnn_relu_cell
        return cell(x, h, *self._weights())


class LSTMCell(_CellBase):
    """One LSTM step: x (B, I), (h, c) each (B, H) or None -> (h', c')."""

    gates = 4

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        state = (self._zeros(x), self._zeros(x)) if hx is None else hx
        return R.lstm_cell(x, state, *self._weights())


class GRUCell(_CellBase):
    """One GRU step: x (B, I), h (B, H) or None -> h' (B, H)."""

    gates = 3

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        h = self._zeros(x) if hx is None else hx
        return R.gru_cell(x, h, *self._weights())
