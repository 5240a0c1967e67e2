"""A third sweep of everyday PyTorch code run as written with `tinygpt` (issue 14): dtype
limits, in-place maths, EMA updates, warm-up schedules, similarity, module helpers, and the
idioms still unsupported (xfail, strict, with the reason).

The harness is conftest.py.
"""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, linear, params, ramp

pytestmark = pytest.mark.oracle


@idiom
def dtype_limits(torch, nn, F, optim):
    scores = ramp(torch, 2, 3)
    masked = scores.masked_fill(scores < 0, torch.finfo(scores.dtype).min)
    return [
        torch.finfo(torch.float32).eps,
        torch.finfo(torch.float16).max,
        torch.finfo(torch.bfloat16).eps,
        torch.finfo(torch.float64).tiny,
        torch.iinfo(torch.int64).max,
        torch.iinfo(torch.uint8).min,
        masked,
    ]


@idiom
def inplace_maths(torch, nn, F, optim):
    x = torch.tensor([0.5, -1.0, 2.0])
    a, b, c, d = x.clone(), x.clone(), x.clone(), x.clone()
    a.exp_()
    b.abs_().sqrt_()
    c.neg_().relu_()
    d.pow_(2)
    e = x.clone().sigmoid_()
    f = x.clone().tanh_()
    g = torch.ones(3).addcmul_(x, x, value=0.5)
    h = torch.ones(3).addcdiv_(x, torch.full((3,), 2.0), value=-1)
    return [a, b, c, d, e, f, g, h]


@idiom
def ema_of_weights(torch, nn, F, optim):
    model = linear(torch, nn, 3, 2)
    ema = linear(torch, nn, 3, 2)
    with torch.no_grad():
        ema.weight.mul_(0.0)
        for p_ema, p in zip(ema.parameters(), model.parameters()):
            p_ema.lerp_(p, 1 - 0.9)
    return [ema.weight, ema.bias, torch.lerp(torch.zeros(2), torch.ones(2), 0.25)]


@idiom
def reductions_by_name(torch, nn, F, optim):
    x = ramp(torch, 2, 3, 4)
    return [
        x.amax(dim=-1),
        torch.amax(x, dim=(0, 2)),
        x.amin(),
        torch.amin(x, 1, keepdim=True),
        torch.dot(x[0, 0], x[1, 1]),
        x[0, 0].dot(x[0, 1]),
        torch.sign(x[0]),
        x.type(torch.float64),
    ]


@idiom
def type_string(torch, nn, F, optim):
    return torch.zeros(1).type()


@idiom
def warmup_then_cosine(torch, nn, F, optim):
    lrs = []
    opt = optim.AdamW(linear(torch, nn, 2, 2).parameters(), lr=1.0)
    warmup = optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
    decay = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
    sched = optim.lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[3])
    for _ in range(8):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


@idiom
def step_schedules(torch, nn, F, optim):
    lrs = []
    for make in (
        lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
        lambda o: optim.lr_scheduler.MultiStepLR(o, milestones=[2, 4], gamma=0.5),
    ):
        opt = optim.SGD(linear(torch, nn, 2, 2).parameters(), lr=1.0)
        sched = make(opt)
        for _ in range(5):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
    return lrs


@idiom
def adamw_with_fused_flag(torch, nn, F, optim):
    model = linear(torch, nn, 3, 2)
    opt = optim.AdamW(model.parameters(), lr=0.1, betas=(0.9, 0.95), fused=False)
    model(ramp(torch, 4, 3)).pow(2).mean().backward()
    opt.step()
    return model.weight


@idiom
def similarity(torch, nn, F, optim):
    a = ramp(torch, 3, 4) + 0.1
    b = a.flip(0) * 2
    return [
        F.normalize(a, dim=-1),
        F.normalize(a),
        F.cosine_similarity(a, b),
        F.cosine_similarity(a, b, dim=-1),
        F.normalize(a, p=1.0, dim=0),
    ]


@idiom
def module_dtype_helpers(torch, nn, F, optim):
    model = linear(torch, nn, 2, 2)
    dtypes = [model.half().weight.dtype, model.bfloat16().weight.dtype, model.float().bias.dtype]
    return [dtypes, model.cpu().weight.device == torch.ones(1).cpu().device]


@idiom
def compile_model(torch, nn, F, optim):
    # tinygpt runs a compiled model as it is; the results are the model's
    return torch.compile(linear(torch, nn, 2, 2))(torch.ones(1, 2))


@idiom
def autocast_context(torch, nn, F, optim):
    model = linear(torch, nn, 2, 2)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        y = model(torch.ones(1, 2))
        loss = F.cross_entropy(y, torch.tensor([1]))
    loss.backward()
    return [y.dtype, loss.dtype, y.float(), model.weight.grad.dtype, torch.is_autocast_enabled()]


@idiom
def grad_scaler_disabled(torch, nn, F, optim):
    # nanoGPT's train.py: GradScaler(enabled=(dtype == "float16")), here float32
    model = linear(torch, nn, 2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.cuda.amp.GradScaler(enabled=False)
    loss = (model(torch.ones(1, 2)) ** 2).sum()
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    return [model.weight.detach(), scaler.get_scale(), scaler.is_enabled()]


@idiom
def tf32_flags(torch, nn, F, optim):
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    now = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = before  # leave the process as it was
    return now


@idiom
def utils_data_loader(torch, nn, F, optim):
    ds = torch.utils.data.TensorDataset(torch.arange(6.0), torch.arange(6))
    return [len(list(torch.utils.data.DataLoader(ds, batch_size=4)))]


@idiom
def relu_inplace_flag(torch, nn, F, optim):
    return [nn.ReLU(inplace=True)(ramp(torch, 4)), F.relu(ramp(torch, 4), inplace=True)]


@idiom
def unique_and_bincount(torch, nn, F, optim):
    x = torch.tensor([3, 1, 3, 0])
    return [torch.unique(x), torch.bincount(x)]


@idiom
def embedding_from_pretrained(torch, nn, F, optim):
    frozen = nn.Embedding.from_pretrained(ramp(torch, 3, 2))
    trained = nn.Embedding.from_pretrained(ramp(torch, 3, 2), freeze=False, padding_idx=0)
    return [frozen(torch.tensor([2, 0])), frozen.weight.requires_grad, trained.weight]


@idiom
def non_blocking_batch(torch, nn, F, optim):
    x = torch.arange(8).view(2, 4)
    device = x.device  # nanoGPT pins memory only on CUDA (torch's CPU build cannot pin)
    return x.to(device, non_blocking=True)


@idiom
def parameter_list(torch, nn, F, optim):
    ps = nn.ParameterList([nn.Parameter(torch.ones(2)) for _ in range(2)])
    return [len(ps), sum(p.numel() for p in ps)]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
