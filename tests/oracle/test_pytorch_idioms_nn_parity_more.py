"""PyTorch idioms for the nn-parity layers, part 2 (part 1: test_pytorch_idioms_nn_parity.py):
transposed and 3-D convolutions, Bilinear, instance / local response norm, distances,
EmbeddingBag, nn.Buffer, lazy modules, the margin / NLL / triplet / CTC / weighted
cross-entropy losses, grid_sample and AdaptiveLogSoftmaxWithLoss. The harness is conftest.py.
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


# ------------------------------------------------------------------ conv transpose and friends
@idiom
def conv_transpose_layers(torch, nn, F, optim):
    torch.manual_seed(0)
    up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    one = nn.ConvTranspose1d(3, 2, 4, stride=3, dilation=2, bias=False)
    with torch.no_grad():
        up.weight.copy_(ramp(torch, 4, 3, 3, 3))
        up.bias.fill_(0.1)
        one.weight.copy_(ramp(torch, 3, 2, 4))
    x = _wave(torch, 2, 4, 3, 5).requires_grad_()
    y = up(x)
    y.pow(2).sum().backward()
    return [y, x.grad, up.weight.grad, one(x[:, :3, 0]), list(up.state_dict()), repr(up),
            repr(one), up(x, output_size=[6, 10]).shape]  # fmt: skip


@idiom
def conv_transpose_functional(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 4, 4)
    w = ramp(torch, 2, 3, 2, 3)
    return [F.conv_transpose2d(x, w, stride=(2, 1), padding=(0, 1), dilation=(1, 2)),
            F.conv_transpose1d(x[:, :, 0], w[:, :, 0], torch.ones(3), stride=2)]  # fmt: skip


@idiom
def bilinear_and_distances(torch, nn, F, optim):
    bil = nn.Bilinear(3, 4, 2)
    with torch.no_grad():
        bil.weight.copy_(ramp(torch, 2, 3, 4))
        bil.bias.fill_(0.5)
    a, b = _wave(torch, 5, 3), ramp(torch, 5, 4)
    return [bil(a, b), list(bil.state_dict()), repr(bil),
            F.pairwise_distance(a, a.flip(0)), nn.PairwiseDistance(p=1.0, keepdim=True)(a, -a),
            F.pdist(a), F.pdist(a, p=3), nn.CosineSimilarity(dim=0)(a, a.flip(0))]  # fmt: skip


@idiom
def instance_and_local_response_norm(torch, nn, F, optim):
    x = _wave(torch, 2, 3, 4, 5)
    tracked = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    y = tracked(x)
    stats = [tracked.running_mean.clone(), tracked.running_var.clone()]
    tracked.eval()
    return [y, stats, tracked(x), list(tracked.state_dict()), repr(tracked),
            nn.InstanceNorm1d(3)(x[:, :, 0]), F.instance_norm(x),
            nn.LocalResponseNorm(3, alpha=0.5)(x),
            F.local_response_norm(x[:, :, 0], 2)]  # fmt: skip


@idiom
def embedding_bag_modes(torch, nn, F, optim):
    bag = nn.EmbeddingBag(10, 3, mode="max")
    with torch.no_grad():
        bag.weight.copy_(_wave(torch, 10, 3))
    ids = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = torch.tensor([0, 2, 2, 5])
    w = bag.weight
    return [bag(ids, offsets), F.embedding_bag(ids, w, offsets, mode="sum"),
            F.embedding_bag(ids.view(2, 4), w, padding_idx=4),
            F.embedding_bag(ids, w, torch.tensor([0, 3, 8]), mode="sum",
                            per_sample_weights=_wave(torch, 8), include_last_offset=True),
            list(bag.state_dict()), repr(bag)]  # fmt: skip


@idiom
def buffer_marker(torch, nn, F, optim):
    class Scaler(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Buffer(torch.full((3,), 2.0))
            self.cache = nn.Buffer(torch.zeros(1), persistent=False)

        def forward(self, x):
            return x * self.scale

    m = Scaler()
    return [m(torch.ones(3)), list(m.state_dict()), [n for n, _ in m.named_buffers()],
            len(list(m.parameters()))]  # fmt: skip


# ------------------------------------------------------------------ losses
@idiom
def regression_style_losses(torch, nn, F, optim):
    x = _wave(torch, 4, 5)
    y = ramp(torch, 4, 5)
    counts = (x.abs() * 2).floor()
    var = x.abs() + 0.5
    return [F.poisson_nll_loss(x, counts), nn.PoissonNLLLoss(log_input=False, full=True)(
                x.abs() + 0.1, counts),
            F.gaussian_nll_loss(x, y, var), nn.GaussianNLLLoss(full=True, reduction="sum")(
                x, y, var[:, :1]),
            F.gaussian_nll_loss(x, y, var, reduction="none")]  # fmt: skip


@idiom
def margin_losses(torch, nn, F, optim):
    x = _wave(torch, 4, 5)
    y = ramp(torch, 4, 5)
    sign = torch.tensor([1.0, -1.0, -1.0, 1.0])
    # NOTE: torch.where(cond, 1.0, -1.0) with two numbers is a core gap (reported)
    sign5 = (y > 0).float() * 2 - 1
    classes = torch.tensor([0, 3, 4, 1])
    multi = torch.tensor([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [0, 1, 2, 3, 4], [4, 4, -1, 0, 0]])
    return [
        F.margin_ranking_loss(x[:, 0], y[:, 0], sign, margin=0.2),
        nn.HingeEmbeddingLoss(margin=0.5)(x, sign5),
        F.cosine_embedding_loss(x, y, sign, margin=-0.1, reduction="none"),
        nn.SoftMarginLoss()(x, sign5),
        F.multilabel_soft_margin_loss(x, (y > 0).float(), weight=torch.arange(1.0, 6.0)),
        nn.MultiMarginLoss(p=2, margin=0.5)(x, classes),
        F.multi_margin_loss(x, classes, weight=torch.arange(1.0, 6.0), reduction="sum"),
        nn.MultiLabelMarginLoss()(x, multi),
        F.multilabel_margin_loss(x, multi, reduction="none"),
    ]


@idiom
def triplet_losses_and_grads(torch, nn, F, optim):
    a = _wave(torch, 4, 5).requires_grad_()
    p = ramp(torch, 4, 5)
    n = p.flip(0)
    loss = nn.TripletMarginLoss(margin=2.0, swap=True)(a, p, n)
    loss = loss + F.triplet_margin_loss(a, p, n, p=1, reduction="sum")
    loss = loss + nn.TripletMarginWithDistanceLoss(
        distance_function=lambda u, v: 1.0 - F.cosine_similarity(u, v), margin=0.5
    )(a, p, n)
    loss.backward()
    return [loss, a.grad]


@idiom
def legacy_reduction_flags(torch, nn, F, optim):
    x = _wave(torch, 6)
    y = (ramp(torch, 6) > 0).float() * 2 - 1
    return [nn.SoftMarginLoss(size_average=False)(x, y), nn.SoftMarginLoss(reduce=False)(x, y),
            F.margin_ranking_loss(x, x.flip(0), y, size_average=False)]  # fmt: skip


# ------------------------------------------------------------------ 3-D, unpooling, lazy
@idiom
def conv3d_layers(torch, nn, F, optim):
    conv = nn.Conv3d(2, 4, (2, 3, 3), stride=(1, 2, 1), padding=1, groups=2)
    up = nn.ConvTranspose3d(2, 3, 2, stride=2, output_padding=1)
    with torch.no_grad():
        conv.weight.copy_(ramp(torch, 4, 1, 2, 3, 3))
        conv.bias.fill_(0.1)
        up.weight.copy_(ramp(torch, 2, 3, 2, 2, 2))
        up.bias.zero_()
    x = _wave(torch, 1, 2, 3, 4, 5).requires_grad_()
    y = conv(x)
    z = up(x)
    (y.sum() + z.pow(2).sum()).backward()
    tbc = F.conv_tbc(x[0, 0].permute(1, 0, 2).contiguous(), ramp(torch, 3, 5, 2), torch.ones(2), 1)
    return [y, z, x.grad, repr(conv), repr(up), list(conv.state_dict()), tbc,
            F.conv3d(x, ramp(torch, 3, 2, 1, 2, 2), padding="same")]  # fmt: skip


@idiom
def pool3d_family(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 5, 6, 7).requires_grad_()
    v, i = nn.MaxPool3d(3, 2, 1, return_indices=True, ceil_mode=True)(x)
    av = nn.AvgPool3d((2, 3, 2), stride=(1, 2, 2), padding=1, count_include_pad=False)(x)
    am, ai = F.adaptive_max_pool3d(x, (2, 3, 4), return_indices=True)
    aa = nn.AdaptiveAvgPool3d((3, None, 2))(x)
    lp = nn.LPPool3d(2, 2)(x.abs() + 0.1)
    (v.sum() + av.sum() + am.sum() + aa.sum() + lp.sum()).backward()
    return [v, i, av, am, ai, aa, lp, x.grad, repr(nn.MaxPool3d(2)), repr(nn.AvgPool3d(2))]


@idiom
def max_unpool_roundtrip(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 4, 6)
    pool = nn.MaxPool2d(2, return_indices=True)
    unpool = nn.MaxUnpool2d(2)
    v, i = pool(x)
    v1, i1 = F.max_pool1d(x[:, :, 0], 2, return_indices=True)
    return [unpool(v, i), unpool(v, i, output_size=[5, 7]), F.max_unpool1d(v1, i1, 2),
            repr(unpool)]  # fmt: skip


@idiom
def lazy_linear_and_batchnorm3d(torch, nn, F, optim):
    torch.manual_seed(0)
    lazy = nn.LazyLinear(3)
    before = [repr(lazy), len(list(lazy.parameters()))]
    out = lazy(_wave(torch, 2, 5))
    bn = nn.BatchNorm3d(2)
    y = bn(_wave(torch, 3, 2, 2, 3, 4))
    return [before, Shape(out), type(lazy).__name__, lazy.in_features, list(lazy.state_dict()),
            y, bn.running_mean, bn.running_var, list(bn.state_dict())]  # fmt: skip


@idiom
def ctc_loss_training_step(torch, nn, F, optim):
    logits = _wave(torch, 12, 3, 5).requires_grad_()
    targets = torch.tensor([[1, 2, 2, 3], [4, 1, 0, 0], [2, 2, 2, 2]])
    input_lengths = torch.tensor([12, 9, 7])
    target_lengths = torch.tensor([4, 2, 4])
    ctc = nn.CTCLoss()
    loss = ctc(logits.log_softmax(2), targets, input_lengths, target_lengths)
    loss.backward()
    flat = torch.tensor([1, 2, 2, 3, 4, 1, 2, 2, 2, 2])
    per = F.ctc_loss(logits.log_softmax(2), flat, input_lengths, target_lengths,
                     reduction="none")  # fmt: skip
    short = F.ctc_loss(logits.log_softmax(2), targets, torch.tensor([3, 9, 7]), target_lengths,
                       zero_infinity=True)  # fmt: skip
    return [loss, logits.grad, per, short]


@idiom
def spatial_transformer_warp(torch, nn, F, optim):
    theta = torch.tensor([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]]]).requires_grad_()
    image = _wave(torch, 1, 2, 5, 6).requires_grad_()
    grid = F.affine_grid(theta, [1, 2, 4, 7], align_corners=False)
    warped = F.grid_sample(image, grid, align_corners=False)
    border = F.grid_sample(image, grid * 1.5, padding_mode="border", align_corners=True)
    near = F.grid_sample(image, grid, mode="nearest", padding_mode="reflection",
                         align_corners=False)  # fmt: skip
    (warped.sum() + border.pow(2).sum()).backward()
    return [grid, warped, border, near, theta.grad, image.grad]


@idiom
def lazy_modules_materialize(torch, nn, F, optim):
    net = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(),
                        nn.LazyLinear(2))  # fmt: skip
    before = [repr(layer) for layer in net]
    x = _wave(torch, 2, 3, 5, 5)
    y = net(x)
    after = [type(layer).__name__ for layer in net]
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    return [before, after, shapes, Shape(y), net[0].in_channels, net[1].num_features]


@idiom
def adaptive_log_softmax(torch, nn, F, optim):
    asm = nn.AdaptiveLogSoftmaxWithLoss(6, 12, [3, 7], div_value=2.0)
    with torch.no_grad():
        for i, p in enumerate(asm.parameters()):
            p.copy_(_wave(torch, *p.shape) / (i + 2))
    x = _wave(torch, 5, 6).requires_grad_()
    out = asm(x, torch.tensor([0, 4, 11, 2, 8]))
    out.loss.backward()
    return [out.output, out.loss, x.grad, asm.log_prob(x), asm.predict(x),
            list(asm.state_dict())]  # fmt: skip


@idiom
def unpool3d_and_aliases(torch, nn, F, optim):
    x = _wave(torch, 1, 2, 4, 4, 6)
    v, i = nn.MaxPool3d(2, return_indices=True)(x)
    cells = isinstance(nn.GRUCell(2, 3), nn.RNNCellBase)
    return [nn.MaxUnpool3d(2)(v, i), isinstance(nn.LSTM(2, 3), nn.RNNBase), cells,
            F.native_channel_shuffle(x, 2)]  # fmt: skip


@idiom
def weighted_and_soft_cross_entropy(torch, nn, F, optim):
    logits = _wave(torch, 4, 5).requires_grad_()
    target = torch.tensor([0, 4, 2, -100])
    weight = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.7])
    probs = ramp(torch, 4, 5).softmax(-1)
    losses = [
        F.cross_entropy(logits, target, weight),
        nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1, reduction="sum")(logits, target),
        F.cross_entropy(logits, probs),
        F.cross_entropy(logits, probs, weight=weight, reduction="none", label_smoothing=0.2),
        nn.NLLLoss(weight)(logits.log_softmax(1), target),
        F.cross_entropy(_wave(torch, 2, 5, 3), torch.tensor([[0, 1, 4], [2, 2, 3]]), weight),
    ]
    sum(loss.sum() for loss in losses).backward()
    return [losses, logits.grad, list(nn.CrossEntropyLoss(weight).state_dict())]


@idiom
def linear_cross_entropy_like_reference(torch, nn, F, optim):
    x = _wave(torch, 6, 4).requires_grad_()
    w = ramp(torch, 5, 4).requires_grad_()
    target = torch.tensor([0, 1, 4, 2, 3, 1])
    loss = F.cross_entropy(F.linear(x, w), target, label_smoothing=0.1)
    fused = F.linear_cross_entropy(x, w, target, label_smoothing=0.1)
    (loss + fused).backward()
    head = nn.LinearCrossEntropyLoss(4, 5, bias=True)
    with torch.no_grad():
        head.linear.weight.copy_(w)
        head.linear.bias.fill_(0.2)
    return [loss, fused, x.grad, w.grad, head(x, target), repr(head), list(head.state_dict())]


@idiom
def cross_map_lrn_and_unbatched_unfold(torch, nn, F, optim):
    x = _wave(torch, 2, 6, 3, 4)
    layers = [nn.CrossMapLRN2d(size, alpha=0.3) for size in (1, 2, 3, 5)]
    return [[layer(x) for layer in layers], repr(layers[2]), F.unfold(x[0], 2, padding=1),
            nn.Unfold(2)(x[0])]  # fmt: skip


@idiom
def sync_batchnorm_and_data_parallel_on_one_device(torch, nn, F, optim):
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with torch.no_grad():
        net[0].weight.copy_(ramp(torch, 4, 3))
        net[0].bias.fill_(0.1)
    net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    wrapped = nn.DataParallel(net)
    y = wrapped(_wave(torch, 5, 3))
    return [y, type(net[1]).__name__, list(wrapped.state_dict()), repr(net[1]),
            net[1].running_mean]  # fmt: skip


@idiom
def functional_multi_head_attention(torch, nn, F, optim):
    q = _wave(torch, 4, 2, 6).requires_grad_()
    k, v = ramp(torch, 5, 2, 6), _wave(torch, 5, 2, 6) / 2
    w = (ramp(torch, 18, 6) * 2).requires_grad_()
    mask = torch.ones(4, 5, dtype=torch.bool).triu(2)
    padding = torch.tensor([[False] * 5, [False] * 4 + [True]])
    out, weights = F.multi_head_attention_forward(
        q, k, v, 6, 3, w, torch.zeros(18), torch.ones(1, 1, 6), torch.zeros(1, 1, 6), True,
        0.0, ramp(torch, 6, 6), torch.zeros(6), training=False, key_padding_mask=padding,
        attn_mask=mask, average_attn_weights=False,
    )  # fmt: skip
    out.pow(2).sum().backward()
    return [out, weights, q.grad, w.grad]


# ------------------------------------------------------------------ errors
@idiom(raises=RuntimeError)
def glu_odd_dim_raises(torch, nn, F, optim):
    return F.glu(torch.ones(2, 3))


@idiom(raises=ValueError)
def dropout_bad_p_raises(torch, nn, F, optim):
    return nn.Dropout2d(1.5)


@idiom(raises=ValueError)
def interpolate_both_sizes_raises(torch, nn, F, optim):
    return F.interpolate(torch.ones(1, 1, 4), size=2, scale_factor=2.0)


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
