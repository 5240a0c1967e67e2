"""Everyday PyTorch autograd, nn and optim code, run as written with `tinygpt` (issue 14).

Autograd and modules (losses and optimizers: test_pytorch_idioms_optim.py); the harness is
conftest.py. Module
weights are set by hand (`with torch.no_grad(): lin.weight.copy_(...)`, itself an idiom), so
both libraries compute the same numbers. nanoGPT's and micrograd's snippets are in
test_pytorch_idioms_gpt.py.
"""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, linear, params, ramp

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ autograd
@idiom
def backward_and_grad(torch, nn, F, optim):
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    return [y, x.grad, x.is_leaf, x.grad_fn is None, y.grad_fn is not None, y.requires_grad]


@idiom
def grad_accumulates_and_zeroes(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (3 * x).sum().backward()
    (x**2).sum().backward()
    first = x.grad.clone()
    x.grad.zero_()
    after_zero = x.grad.clone()
    x.grad = None
    (x * 2).sum().backward()
    return [first, after_zero, x.grad]


@idiom
def no_grad_forms(torch, nn, F, optim):
    x = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        y = x * 2

    @torch.no_grad()
    def double(t):
        return t * 2

    with torch.set_grad_enabled(False):
        z = x + 1
    return [
        y.requires_grad,
        double(x).requires_grad,
        z.requires_grad,
        torch.is_grad_enabled(),
        (x * 2).requires_grad,
    ]


@idiom
def detach_and_requires_grad(torch, nn, F, optim):
    x = torch.ones(2)
    x.requires_grad_()
    y = torch.zeros(2)
    y.requires_grad = True
    w = torch.ones(2).requires_grad_(True)
    return [
        x.requires_grad,
        y.requires_grad,
        w.requires_grad,
        (x * 2).detach().requires_grad,
        x.detach().is_leaf,
        torch.ones(1, requires_grad=False).requires_grad,
    ]


@idiom
def retain_grad_of_intermediate(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h**2).sum().backward()
    return [h.grad, x.grad]


@idiom
def autograd_grad(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    return [g.detach(), h, x.grad]


@idiom
def backward_with_gradient(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.backward(torch.tensor([1.0, 0.5]))
    return x.grad


@idiom(raises=RuntimeError)
def backward_of_non_scalar_raises(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward()


@idiom(raises=RuntimeError)
def backward_twice_raises(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


@idiom(raises=RuntimeError)
def inplace_on_leaf_raises(torch, nn, F, optim):
    x = torch.ones(2, requires_grad=True)
    x.add_(1)


@idiom
def retain_graph_twice(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


@idiom
def grad_to_python(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 5).sum().backward()
    return [x.grad.tolist(), x.grad[0].item(), x.grad.sum().item(), x.grad.numpy().tolist()]


# ------------------------------------------------------------------ modules
@idiom
def linear_layer(torch, nn, F, optim):
    lin = linear(torch, nn, 3, 2)
    x = ramp(torch, 4, 3)
    return [
        lin(x),
        lin.weight.shape,
        lin.bias.shape,
        lin.in_features,
        lin.out_features,
        F.linear(x, lin.weight, lin.bias),
        nn.Linear(3, 2, bias=False).bias,
    ]


@idiom
def embedding_layer(torch, nn, F, optim):
    emb = nn.Embedding(5, 3)
    with torch.no_grad():
        emb.weight.copy_(ramp(torch, 5, 3))
    idx = torch.tensor([[0, 4], [2, 2]])
    return [
        emb(idx),
        emb.weight.shape,
        emb.num_embeddings,
        emb.embedding_dim,
        F.embedding(idx, emb.weight),
    ]


@idiom
def layer_norm(torch, nn, F, optim):
    ln = nn.LayerNorm(4)
    x = ramp(torch, 2, 4) * torch.tensor([1.0, 3.0, -2.0, 5.0])
    return [
        ln(x),
        ln.weight,
        ln.bias,
        F.layer_norm(x, (4,)),
        nn.LayerNorm(4, bias=False).bias,
        nn.LayerNorm(4, eps=1e-6)(x),
    ]


@idiom
def dropout_train_eval(torch, nn, F, optim):
    torch.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = torch.ones(1000)
    y = drop(x)
    kept = y[y != 0]
    drop.eval()
    return [
        Shape(y),
        bool((kept == 2.0).all()),
        350 < int((y == 0).sum()) < 650,
        drop(x),
        F.dropout(x, p=0.5, training=False),
        drop.training,
        nn.Dropout(p=0.0)(x),
    ]


@idiom
def sequential(torch, nn, F, optim):
    model = nn.Sequential(linear(torch, nn, 3, 4), nn.ReLU(), linear(torch, nn, 4, 2))
    x = ramp(torch, 2, 3)
    return [model(x), len(model), model[0].weight.shape, type(model[1]).__name__, model[-1].bias]


@idiom
def module_list_and_dict(torch, nn, F, optim):
    blocks = nn.ModuleList([linear(torch, nn, 2, 2) for _ in range(3)])
    blocks.append(nn.Tanh())
    md = nn.ModuleDict(dict(wte=nn.Embedding(4, 2), h=blocks))
    x = ramp(torch, 1, 2)
    for block in md.h:
        x = block(x)
    return [x, len(blocks), md["wte"] is md.wte, list(md.keys()), "h" in md]


class _Net:
    """A module written the PyTorch way (built per library, since nn.Module differs)."""

    @staticmethod
    def build(torch, nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = linear(torch, nn, 3, 4)
                self.fc2 = linear(torch, nn, 4, 2, bias=False)
                self.register_buffer("scale", torch.tensor(2.0))
                self.register_buffer("tmp", torch.zeros(1), persistent=False)

            def forward(self, x):
                return self.fc2(F_relu(self.fc1(x))) * self.scale

        F_relu = nn.functional.relu
        return Net()


@idiom
def custom_module(torch, nn, F, optim):
    net = _Net.build(torch, nn)
    x = ramp(torch, 2, 3)
    return [
        net(x),
        net.forward(x),
        [n for n, _ in net.named_parameters()],
        sum(p.numel() for p in net.parameters()),
        [n for n, _ in net.named_buffers()],
        [n for n, _ in net.named_children()],
        [n for n, _ in net.named_modules()],
    ]


@idiom
def state_dict_round_trip(torch, nn, F, optim):
    a = _Net.build(torch, nn)
    b = _Net.build(torch, nn)
    with torch.no_grad():
        b.fc1.weight.mul_(3)
    sd = a.state_dict()
    b.load_state_dict(sd)
    result = b.load_state_dict({k: v for k, v in sd.items() if k != "scale"}, strict=False)
    return [
        list(sd.keys()),
        b.fc1.weight,
        sd["fc1.bias"],
        list(result.missing_keys),
        list(result.unexpected_keys),
    ]


@idiom(raises=RuntimeError)
def load_state_dict_strict_raises(torch, nn, F, optim):
    net = _Net.build(torch, nn)
    net.load_state_dict({"fc1.weight": torch.zeros(4, 3)})


@idiom
def apply_init(torch, nn, F, optim):
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2), nn.LayerNorm(2))

    def init_weights(module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)

    model.apply(init_weights)
    torch.nn.init.ones_(model[2].weight)
    torch.nn.init.constant_(model[3].bias, 0.5)
    nn.init.xavier_uniform_(model[0].weight)
    return [
        model[0].bias,
        model[2].weight,
        model[3].bias,
        Shape(model[0].weight),
        float(model[0].weight.abs().max()) <= (6 / 7) ** 0.5,
    ]


@idiom
def train_eval_and_dtype(torch, nn, F, optim):
    net = _Net.build(torch, nn)
    net.eval()
    flags = [net.training, net.fc1.training]
    net.train()
    flags += [net.training, net.fc1.training]
    net.to(torch.float64)
    dev = next(net.parameters()).device
    net.to(dev)
    net.float()
    return [flags, net.fc1.weight.dtype, net.double().fc2.weight.dtype]


@idiom
def freeze_parameters(torch, nn, F, optim):
    net = _Net.build(torch, nn)
    for p in net.fc1.parameters():
        p.requires_grad = False
    net.fc2.requires_grad_(False)
    net(ramp(torch, 2, 3)).sum()
    return [[p.requires_grad for p in net.parameters()], net.fc1.weight.grad]


@idiom
def parameter_basics(torch, nn, F, optim):
    p = nn.Parameter(torch.zeros(3))
    q = nn.Parameter(torch.ones(2), requires_grad=False)
    return [
        p,
        p.is_leaf,
        isinstance(p, torch.Tensor),
        isinstance(p, nn.Parameter),
        q.requires_grad,
        (p + 1).requires_grad,
    ]


@idiom
def small_layers(torch, nn, F, optim):
    x = ramp(torch, 2, 3, 2)
    return [
        nn.Identity()(x),
        nn.Flatten()(x),
        nn.GELU(approximate="tanh")(x),
        nn.Softmax(dim=-1)(x),
        nn.ReLU()(x),
        nn.Tanh()(x),
        nn.Sigmoid()(x),
        nn.SiLU()(x),
        nn.LeakyReLU(0.1)(x),
    ]


@idiom
def module_zero_grad(torch, nn, F, optim):
    net = _Net.build(torch, nn)
    net(ramp(torch, 2, 3)).sum().backward()
    had = net.fc1.weight.grad is not None
    net.zero_grad()
    return [had, net.fc1.weight.grad]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
