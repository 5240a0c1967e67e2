"""PyTorch idioms for the nn-parity layers and functions (run as written with torch and with
tinygpt, compared by the harness in conftest.py), part 1: the extra activations, channel and
alpha dropout, 1-D / adaptive / power pooling with indices, padding layers, interpolate, the
shuffles and fold. Part 2 (the rest) is test_pytorch_idioms_nn_parity_more.py.
"""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, params, ramp

pytestmark = pytest.mark.oracle


def _wave(torch, *shape):
    """Deterministic values with both signs and no ties: sin of a ramp, scaled."""
    n = 1
    for s in shape:
        n *= s
    return (torch.arange(n, dtype=torch.float32) * 0.7).sin().reshape(*shape) * 3


# ------------------------------------------------------------------ activations
@idiom
def activation_functions(torch, nn, F, optim):
    x = _wave(torch, 2, 3, 4)
    return [
        F.relu6(x * 3),
        F.hardswish(x),
        F.hardsigmoid(x),
        F.hardshrink(x, 1.0),
        F.softshrink(x, 0.5),
        F.tanhshrink(x),
        F.threshold(x, 0.2, -5.0),
        F.selu(x),
        F.celu(x, 0.5),
        F.glu(x, dim=-1),
        F.logsigmoid(x),
        F.softsign(x),
        F.softmin(x, dim=1),
        F.rrelu(x),
        F.prelu(x, torch.tensor([0.1, 0.2, 0.3])),
    ]


@idiom
def activation_modules_and_grads(torch, nn, F, optim):
    x = _wave(torch, 2, 3, 4).requires_grad_()
    layers = [nn.ReLU6(), nn.Hardswish(), nn.Hardsigmoid(), nn.Hardshrink(), nn.Softshrink(),
              nn.Tanhshrink(), nn.Threshold(0.1, 20.0), nn.SELU(), nn.CELU(), nn.GLU(1 - 2),
              nn.LogSigmoid(), nn.Softsign(), nn.Softmin(dim=-1), nn.Softmax2d()]  # fmt: skip
    total = sum(layer(x).sum() for layer in layers)
    total.backward()
    return [total, x.grad, [repr(layer) for layer in layers]]


@idiom
def prelu_module_learns(torch, nn, F, optim):
    act = nn.PReLU(3, init=0.2)
    x = _wave(torch, 2, 3, 4)
    act(x).pow(2).sum().backward()
    return [act.weight.grad, list(act.state_dict()), repr(act), act(x)]


@idiom
def inplace_activation_forms(torch, nn, F, optim):
    out = []
    for fn in (F.relu_, F.elu_, F.leaky_relu_, F.hardtanh_, F.selu_, F.celu_):
        x = _wave(torch, 5)
        y = fn(x)
        out.append([y is x, x])
    x = _wave(torch, 5)
    F.threshold_(x, 0.0, -1.0)
    return out + [x, nn.ReLU6(inplace=True)(_wave(torch, 3) * 4)]


@idiom
def rrelu_and_gumbel_shapes(torch, nn, F, optim):
    torch.manual_seed(0)
    x = _wave(torch, 4, 5)
    trained = nn.RReLU()(x)
    hard = F.gumbel_softmax(x, tau=0.5, hard=True)
    return [Shape(trained), Shape(hard), hard.sum(-1), nn.RReLU().eval()(x)]


# ------------------------------------------------------------------ dropout
@idiom
def dropout_family_eval_and_shapes(torch, nn, F, optim):
    torch.manual_seed(0)
    x = _wave(torch, 2, 3, 4, 4)
    layers = [nn.Dropout1d(0.3), nn.Dropout2d(0.3), nn.Dropout3d(0.3), nn.AlphaDropout(0.3),
              nn.FeatureAlphaDropout(0.3)]  # fmt: skip
    inputs = [x[..., 0], x, x.unsqueeze(-1), x, x]
    trained = [Shape(layer(t)) for layer, t in zip(layers, inputs)]
    evaluated = [layer.eval()(t) for layer, t in zip(layers, inputs)]
    return [trained, evaluated, [repr(layer) for layer in layers], F.alpha_dropout(x, 0.5)]


@idiom
def dropout2d_zeroes_channels(torch, nn, F, optim):
    torch.manual_seed(0)
    y = F.dropout2d(torch.ones(8, 16, 3, 3), 0.5)
    per_channel = y.flatten(2)
    whole = ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    return [bool(whole), Shape(y)]


# ------------------------------------------------------------------ pooling
@idiom
def pooling_1d_and_indices(torch, nn, F, optim):
    x = _wave(torch, 2, 3, 11)
    v, i = F.max_pool1d(x, 3, 2, 1, return_indices=True)
    pool = nn.MaxPool1d(2, ceil_mode=True, return_indices=True)
    padded = nn.AvgPool1d(4, count_include_pad=False, padding=2)
    return [v, i, pool(x), repr(pool), F.avg_pool1d(x, 3, 2, 1, ceil_mode=True),
            padded(x), repr(nn.AvgPool1d(3))]  # fmt: skip


@idiom
def max_pool2d_options(torch, nn, F, optim):
    x = _wave(torch, 2, 2, 7, 9)
    v, i = F.max_pool2d(x, 3, 2, 1, dilation=1, ceil_mode=True, return_indices=True)
    w, j = F.max_pool2d_with_indices(x, (2, 3), (1, 2), 1, (2, 1))
    avg = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    return [v, i, w, j, avg, F.avg_pool2d(x, 2, divisor_override=3)]


@idiom
def adaptive_pooling(torch, nn, F, optim):
    x = _wave(torch, 2, 3, 7, 10)
    v, i = F.adaptive_max_pool2d(x, (3, 4), return_indices=True)
    mv, mi = nn.AdaptiveMaxPool1d(4, return_indices=True)(x[:, :, 0])
    return [v, i, mv, mi, nn.AdaptiveMaxPool2d((None, 3))(x), F.adaptive_avg_pool1d(x[0], 3),
            nn.AdaptiveAvgPool1d(6)(x[:, :, 0])]  # fmt: skip


@idiom
def lp_pooling(torch, nn, F, optim):
    x = _wave(torch, 2, 3, 6, 6).abs() + 0.1
    return [F.lp_pool2d(x, 2, 3, 2), nn.LPPool1d(3, 2)(x[:, :, 0]), repr(nn.LPPool2d(2, 3)),
            F.lp_pool1d(x[:, :, 0], 1.5, 3, ceil_mode=True)]  # fmt: skip


@idiom
def pool_backward(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 6, 7).requires_grad_()
    loss = F.max_pool2d(x, 3, 2, 1, ceil_mode=True).sum() + F.adaptive_max_pool2d(x, 2).sum()
    loss = loss + F.max_pool1d(x[:, :, 0], 2).sum() + F.lp_pool2d(x.abs() + 1, 2, 2).sum()
    loss.backward()
    return [loss, x.grad]


@idiom
def fractional_max_pooling(torch, nn, F, optim):
    x = _wave(torch, 2, 3, 9, 11).requires_grad_()
    samples = (torch.arange(12.0).reshape(2, 3, 2) * 0.37) % 1
    v, i = F.fractional_max_pool2d(x, 2, output_size=(5, 6), return_indices=True,
                                   _random_samples=samples)  # fmt: skip
    layer = nn.FractionalMaxPool2d((3, 2), output_ratio=(0.5, 0.7), _random_samples=samples)
    cube_samples = (samples[..., :1] * 0.5).expand(2, 3, 3)
    cube = F.fractional_max_pool3d(x.unsqueeze(2).expand(2, 3, 5, 9, 11), 2, output_size=3,
                                   _random_samples=cube_samples)  # fmt: skip
    (v.sum() + layer(x).sum()).backward()
    return [v, i, layer(x), x.grad, cube, list(layer.state_dict()), repr(layer)]


# ------------------------------------------------------------------ padding and resampling
@idiom
def padding_layers(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 3, 4)
    layers = [nn.ZeroPad2d((1, 0, 2, 1)), nn.ConstantPad2d(1, 3.5), nn.ReflectionPad2d(2),
              nn.ReplicationPad2d((0, 3, 1, 0)), nn.CircularPad2d(1)]  # fmt: skip
    ones = [nn.ZeroPad1d(2), nn.ConstantPad1d((0, 1), -1.0), nn.ReflectionPad1d(1),
            nn.ReplicationPad1d(2), nn.CircularPad1d((2, 1))]  # fmt: skip
    return [[layer(x) for layer in layers], [layer(x[0]) for layer in ones],
            [repr(layer) for layer in layers + ones], nn.ReplicationPad3d(1)(x)]  # fmt: skip


@idiom
def interpolate_modes(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 3, 5)
    return [
        F.interpolate(x, scale_factor=2),
        F.interpolate(x, size=(4, 7), mode="nearest"),
        F.interpolate(x, scale_factor=1.5, mode="bilinear"),
        F.interpolate(x, size=(6, 9), mode="bilinear", align_corners=True),
        F.interpolate(x[:, :, 0], scale_factor=2.5, mode="linear"),
        F.interpolate(x, size=(2, 3), mode="nearest-exact"),
        F.interpolate(x, scale_factor=2, mode="bicubic"),
        F.interpolate(x, size=(5, 4), mode="bicubic", align_corners=True),
        F.interpolate(x, size=(2, 3), mode="area"),
        nn.Upsample(scale_factor=2, mode="bilinear")(x),
        nn.UpsamplingBilinear2d(scale_factor=2)(x),
        nn.UpsamplingNearest2d(size=(5, 5))(x),
        repr(nn.Upsample(scale_factor=2)),
    ]


@idiom
def interpolate_backward(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 3, 4).requires_grad_()
    y = F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=False)
    (y * ramp(torch, 1, 2, 5, 7)).sum().backward()
    return [y, x.grad]


@idiom
def shuffles_fold_unfold(torch, nn, F, optim):
    x = _wave(torch, 2, 8, 3, 4)
    cols = nn.Unfold(kernel_size=2, padding=1, stride=(1, 2))(x)
    fold = nn.Fold(output_size=(3, 4), kernel_size=2, padding=1, stride=(1, 2))
    return [F.pixel_shuffle(x, 2), nn.PixelUnshuffle(2)(x[:, :, :2]), F.channel_shuffle(x, 4),
            nn.ChannelShuffle(2)(x), cols, fold(cols), repr(fold)]  # fmt: skip


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
