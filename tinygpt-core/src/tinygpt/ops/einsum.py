"""einsum: Einstein summation over labelled dims, as `torch.einsum`.

A composition, so autograd derives the gradient. Operands are contracted two at a time,
left to right, each pair with one batched `matmul`: labels of both operands that are still
needed (in the output or a later operand) are batch dims, labels of both that are not are
summed by the matmul, and each side's own labels become its rows or columns. Before that,
a label repeated inside one operand takes the diagonal, and a label no one else needs is
summed away. `...` stands for the same broadcast dims in every operand.

>>> import tinygpt as tg
>>> a = tg.arange(6.0).reshape(2, 3)
>>> tg.einsum("ij,kj->ik", a, a).tolist()
[[5.0, 14.0], [14.0, 50.0]]
>>> tg.einsum("ii->i", tg.eye(2)).tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

from ..creation import eye
from ..errors import ShapeError
from ..ndarray import prod
from ..tensor import Tensor
from .matmul import matmul
from .movement import expand, permute, reshape

__all__ = ["einsum"]

Labels = list[str]


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """Sum of products of `operands` over the labels missing from the output.

    `equation` is "ij,jk->ik" (or implicit, "ij,jk": the labels used once, sorted).
    Operands may also be passed as one list: einsum("ij->ji", [x]).
    """
    tensors = _tensor_list(operands)
    inputs, output = _parse(equation, tensors)
    pairs = [
        _reduce_alone(_diagonals(t, labels), i, inputs, output)
        for i, (t, labels) in enumerate(zip(tensors, inputs, strict=True))
    ]
    tensor, labels = pairs[0]
    for k in range(1, len(pairs)):
        needed = set(output).union(*(inputs[j] for j in range(k + 1, len(inputs))))
        tensor, labels = _contract(tensor, labels, *pairs[k], needed)
    extra = [i for i, label in enumerate(labels) if label not in output]
    if extra:
        tensor = tensor.sum(tuple(extra))
        labels = [label for label in labels if label in output]
    return permute(tensor, *[labels.index(label) for label in output]) if labels else tensor


def _tensor_list(operands: tuple) -> list[Tensor]:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        return list(operands[0])
    return list(operands)


def _parse(equation: str, tensors: list[Tensor]) -> tuple[list[Labels], Labels]:
    """Each operand's labels and the output's, with `...` expanded to shared broadcast labels
    (numbered from the right, so they line up as in broadcasting)."""
    text = equation.replace(" ", "")
    left, arrow, right = text.partition("->")
    terms = left.split(",")
    if len(terms) != len(tensors):
        raise ShapeError(
            f"einsum: {equation!r} names {len(terms)} operands but {len(tensors)} were given"
        )
    inputs = [_labels(equation, term, t.ndim) for term, t in zip(terms, tensors, strict=True)]
    broadcast = max((sum(1 for x in ls if not x.isalpha()) for ls in inputs), default=0)
    ellipsis = [_ellipsis_label(broadcast - 1 - i) for i in range(broadcast)]
    if arrow:
        output = _labels(equation, right, None, broadcast)
    else:
        counts: dict[str, int] = {}
        for labels in inputs:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        output = ellipsis + sorted(x for x, n in counts.items() if n == 1 and x.isalpha())
    _check_sizes(equation, inputs, tensors, output)
    return inputs, output


def _ellipsis_label(from_right: int) -> str:
    return chr(0x2460 + from_right)  # circled digits: never a letter of the equation


def _labels(equation: str, term: str, ndim: int | None, broadcast: int = 0) -> Labels:
    """One label per dim of a term; `...` covers the dims the letters leave over."""
    head, dots, tail = term.partition("...")
    letters = head + tail
    if not all(c.isalpha() for c in letters) or "." in tail:
        raise ShapeError(f"einsum: {equation!r}: subscripts must be letters and one '...'")
    count = (ndim - len(letters) if ndim is not None else broadcast) if dots else 0
    if ndim is not None and (count < 0 or (not dots and len(letters) != ndim)):
        raise ShapeError(
            f"einsum: {equation!r}: term {term!r} has {len(letters)} labels for an operand "
            f"with {ndim} dims"
        )
    return list(head) + [_ellipsis_label(count - 1 - i) for i in range(count)] + list(tail)


def _check_sizes(equation: str, inputs: list[Labels], tensors: list[Tensor], output: Labels):
    sizes: dict[str, int] = {}
    for labels, t in zip(inputs, tensors, strict=True):
        for label, n in zip(labels, t.shape, strict=True):
            known = sizes.setdefault(label, n)
            if known != n and 1 not in (known, n):
                raise ShapeError(
                    f"einsum: {equation!r}: label {label!r} has size {known} in one place and "
                    f"{n} in another (shapes {[tuple(t.shape) for t in tensors]})"
                )
            sizes[label] = max(known, n)
    for label in output:
        if label not in sizes:
            raise ShapeError(f"einsum: {equation!r}: output label {label!r} is in no operand")
    if len(set(output)) != len(output):
        raise ShapeError(f"einsum: {equation!r}: an output label appears twice")


def _diagonals(t: Tensor, labels: Labels) -> tuple[Tensor, Labels]:
    """A label repeated inside one operand ("ii") keeps only the diagonal of those dims."""
    for label in dict.fromkeys(labels):
        while labels.count(label) > 1:
            first = labels.index(label)
            second = labels.index(label, first + 1)
            n = t.shape[first]
            # zero the off-diagonal (an identity broadcast over dims first, second), then
            # sum out `second`: what remains at index i of `first` is t[.., i, .., i, ..]
            mask_shape = [1] * t.ndim
            mask_shape[first] = n
            mask_shape[second] = n
            t = (t * reshape(eye(n, dtype=t.dtype, device=t.device), *mask_shape)).sum(second)
            labels = labels[:second] + labels[second + 1 :]
    return t, labels


def _reduce_alone(
    pair: tuple[Tensor, Labels], i: int, inputs: list[Labels], output: Labels
) -> tuple[Tensor, Labels]:
    """Sum the labels that only this operand has and the output does not."""
    t, labels = pair
    others = set(output).union(*(inputs[j] for j in range(len(inputs)) if j != i))
    alone = [k for k, label in enumerate(labels) if label not in others]
    if not alone:
        return t, labels
    return t.sum(tuple(alone)), [label for label in labels if label in others]


def _contract(
    a: Tensor, la: Labels, b: Tensor, lb: Labels, needed: set[str]
) -> tuple[Tensor, Labels]:
    """One pairwise contraction as a batched matmul: (batch, rows, sum) @ (batch, sum, cols)."""
    batch = [x for x in la if x in lb and x in needed]
    summed = [x for x in la if x in lb and x not in needed]
    rows = [x for x in la if x not in lb]
    cols = [x for x in lb if x not in la]
    a = permute(a, *[la.index(x) for x in batch + rows + summed])
    b = permute(b, *[lb.index(x) for x in batch + summed + cols])
    nb = len(batch)
    row_sizes = a.shape[nb : nb + len(rows)]
    col_sizes = b.shape[nb + len(summed) :]
    # a summed label of size 1 on one side broadcasts against the other side's size
    sums = [max(m, n) for m, n in zip(a.shape[nb + len(rows) :], b.shape[nb : nb + len(summed)])]
    a = expand(a, *a.shape[: nb + len(rows)], *sums)
    b = expand(b, *b.shape[:nb], *sums, *col_sizes)
    a = reshape(a, *a.shape[:nb], prod(row_sizes), prod(tuple(sums)))
    b = reshape(b, *b.shape[:nb], prod(tuple(sums)), prod(col_sizes))
    out = matmul(a, b)  # (batch..., rows, cols), the batch dims broadcast
    out = reshape(out, *out.shape[:nb], *row_sizes, *col_sizes)
    return out, batch + rows + cols
