"""PyTorch idioms for the nn/optim parts added in issue 14's follow-up (run as written with
torch and with tinygpt): the `torch.utils.data` path, `inplace=` activations, ParameterList /
ParameterDict, softplus/elu/mish/hardtanh, BCE/KL/smooth-L1/Huber losses, Unflatten,
orthogonal_, RMSprop, Adagrad, and Module.get_parameter/get_submodule/type.

The harness is conftest.py.
"""

from __future__ import annotations

import importlib

import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, linear, params, ramp

pytestmark = pytest.mark.oracle


def _utils_data(torch):
    # `from torch.utils.data import ...` with whichever library plays torch
    return importlib.import_module(f"{torch.__name__}.utils.data")


@idiom
def utils_data_imports(torch, nn, F, optim):
    data = _utils_data(torch)
    ds = data.TensorDataset(torch.arange(10.0).view(5, 2), torch.arange(5))
    train, val = data.random_split(ds, [3, 2])
    sub = data.Subset(ds, [4, 0])
    batches = list(data.DataLoader(sub, batch_size=2, shuffle=False))
    return [len(train), len(val), isinstance(train, data.Subset), batches, len(ds), ds[1]]


@idiom
def custom_dataset_loader(torch, nn, F, optim):
    data = _utils_data(torch)

    class Squares(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return torch.tensor([float(i)]), i * i

    loader = data.DataLoader(Squares(), batch_size=2, drop_last=True)
    return [len(loader), [[x, y] for x, y in loader]]


@idiom
def relu_inplace_in_graph(torch, nn, F, optim):
    w = ramp(torch, 2, 3).requires_grad_()
    h = w * 3.0
    out = nn.ReLU(inplace=True)(h)
    same = out is h
    g = F.leaky_relu(w * 1.0, 0.2, inplace=True)
    (out.sum() + (g * g).sum()).backward()
    return [same, out, g, w.grad]


@idiom
def more_inplace_flags(torch, nn, F, optim):
    x = ramp(torch, 6) * 4
    a, b, c = x.clone(), x.clone(), x.clone()
    F.elu(a, alpha=0.5, inplace=True)
    nn.Hardtanh(-0.5, 0.5, inplace=True)(b)
    nn.Dropout(p=0.3, inplace=True).eval()(c)
    return [a, b, c, nn.Dropout(0.2, inplace=True).p]


@idiom
def smooth_activations(torch, nn, F, optim):
    x = ramp(torch, 3, 4) * 60  # reaches softplus's threshold (20) at both ends
    x.requires_grad_()
    outs = [
        F.softplus(x),
        F.softplus(x, beta=2.0, threshold=5.0),
        F.elu(x),
        F.mish(x),
        F.hardtanh(x, -2.0, 2.0),
        nn.Softplus(beta=0.5)(x),
        nn.ELU(alpha=0.3)(x),
        nn.Mish()(x),
        nn.Hardtanh()(x),
    ]
    sum(o.sum() for o in outs).backward()
    return [*outs, x.grad]


@idiom
def probability_losses(torch, nn, F, optim):
    logits = ramp(torch, 4, 3).requires_grad_()
    target = torch.tensor([[0.0, 1.0, 0.5]] * 4)
    probs = torch.sigmoid(logits)
    log_q = F.log_softmax(logits, dim=-1)
    p = F.softmax(ramp(torch, 4, 3) * 2, dim=-1)
    losses = [
        F.binary_cross_entropy(probs, target),
        nn.BCELoss(reduction="sum")(probs, target),
        nn.BCELoss(weight=torch.tensor([1.0, 2.0, 0.5]))(probs, target),
        F.kl_div(log_q, p, reduction="batchmean"),
        F.kl_div(log_q, p.log(), reduction="sum", log_target=True),
        nn.KLDivLoss(reduction="batchmean")(log_q, p),
        F.kl_div(log_q, p, reduction="none"),
    ]
    sum(loss.sum() for loss in losses).backward()
    return [*losses, logits.grad]


@idiom
def robust_regression_losses(torch, nn, F, optim):
    pred = (ramp(torch, 3, 4) * 5).requires_grad_()
    target = torch.zeros(3, 4)
    losses = [
        F.smooth_l1_loss(pred, target),
        F.smooth_l1_loss(pred, target, beta=0.5, reduction="none"),
        nn.SmoothL1Loss(reduction="sum", beta=2.0)(pred, target),
        F.huber_loss(pred, target, delta=0.7),
        nn.HuberLoss(reduction="none")(pred, target),
    ]
    sum(loss.sum() for loss in losses).backward()
    return [*losses, pred.grad]


@idiom
def unflatten_layer(torch, nn, F, optim):
    decoder = nn.Sequential(nn.Linear(4, 12), nn.Unflatten(1, (3, 4)))
    x = torch.ones(2, 4)
    return [decoder(x).shape, nn.Unflatten(-1, (2, -1))(ramp(torch, 2, 6))]


@idiom
def parameter_containers(torch, nn, F, optim):
    class Mixer(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([nn.Parameter(torch.ones(2)) for _ in range(3)])
            self.gates = nn.ParameterDict({"a": nn.Parameter(torch.zeros(2))})
            self.gates["b"] = nn.Parameter(torch.full((2,), 0.5))

        def forward(self, x):
            for s in self.scales:
                x = x * s
            return x + self.gates["a"] + self.gates["b"]

    m = Mixer()
    m(ramp(torch, 2)).sum().backward()
    keys = list(m.state_dict().keys())
    m.double()
    return [
        keys,
        len(m.scales),
        list(m.gates.keys()),
        "b" in m.gates,
        m.scales[0].grad,
        [p.dtype for p in m.parameters()],
        sum(p.numel() for p in m.parameters()),
    ]


@idiom
def orthogonal_init(torch, nn, F, optim):
    wide, tall = torch.empty(3, 5), torch.empty(5, 3)
    nn.init.orthogonal_(wide)
    nn.init.orthogonal_(tall, gain=2.0)
    wide_ok = ((wide @ wide.T - torch.eye(3)).abs().max() < 1e-5).item()
    tall_ok = ((tall.T @ tall - 4 * torch.eye(3)).abs().max() < 1e-4).item()
    return [Shape(wide), wide_ok, tall_ok]


def _fit(torch, nn, make_opt, steps=10):
    model = linear(torch, nn, 3, 2)
    opt = make_opt(model.parameters())
    x = ramp(torch, 4, 3)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x).tanh() - 0.5) ** 2).mean()
        loss.backward()
        opt.step()
    return [model.weight, model.bias, loss]


@idiom
def rmsprop_trajectories(torch, nn, F, optim):
    return [
        _fit(torch, nn, lambda ps: optim.RMSprop(ps, lr=0.01)),
        _fit(torch, nn, lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True)),
        _fit(torch, nn, lambda ps: optim.RMSprop(ps, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ]


@idiom
def adagrad_trajectories(torch, nn, F, optim):
    return [
        _fit(torch, nn, lambda ps: optim.Adagrad(ps, lr=0.1)),
        _fit(
            torch,
            nn,
            lambda ps: optim.Adagrad(
                ps, lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1
            ),
        ),
    ]


@idiom
def module_lookups(torch, nn, F, optim):
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    w = model.get_parameter("1.1.weight")
    same = w is model[1][1].weight
    sub = model.get_submodule("1.1")
    model.type(torch.float64)
    return [w.shape, same, type(sub).__name__, model[0].weight.dtype]


@idiom(raises=AttributeError)
def get_parameter_missing(torch, nn, F, optim):
    return nn.Linear(2, 2).get_parameter("gamma")


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
