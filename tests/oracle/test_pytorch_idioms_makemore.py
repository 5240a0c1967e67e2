"""makemore-style PyTorch (a generator passed to every random call, manual backprop with
`dlogits[range(n), Yb] -= 1` on a graph tensor, index writes of values that require grad)
run as written with `tinygpt`. The harness is conftest.py."""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, params

pytestmark = pytest.mark.oracle


@idiom
def multinomial_with_a_generator(torch, nn, F, optim):
    g = torch.Generator().manual_seed(2147483647)
    probs = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    sure = torch.multinomial(probs, num_samples=2, replacement=True, generator=g)
    some = torch.multinomial(torch.ones(2, 5), num_samples=3, generator=g)
    return [sure, Shape(some), torch.multinomial(probs[0], 1, generator=g).item()]


@idiom
def manual_backprop_shift_at_targets(torch, nn, F, optim):
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]], requires_grad=True)
    targets = torch.tensor([2, 0])
    dlogits = F.softmax(logits, 1) * 1.0
    dlogits[range(2), targets] -= 1
    dlogits /= 2
    (dlogits * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    return [dlogits, logits.grad]


@idiom
def index_write_of_values_that_require_grad(torch, nn, F, optim):
    b = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = torch.tensor(3.0, requires_grad=True)
    x = torch.zeros(3, 2)
    x[[0, 2]] = b * 2
    x[x > 5] = c
    x[torch.tensor([1]), torch.tensor([0])] = c * c
    (x * torch.arange(6.0).reshape(3, 2)).sum().backward()
    return [x, b.grad, c.grad]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
