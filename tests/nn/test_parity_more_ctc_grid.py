"""ctc_loss / CTCLoss and affine_grid / grid_sample: forward vs NumPy references (a brute-force
sum over alignments, direct pixel reads), backward vs float64 finite differences."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

RNG = np.random.default_rng(0)


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def collapse(path, blank):
    out = []
    previous = None
    for c in path:
        if c != previous and c != blank:
            out.append(c)
        previous = c
    return out


def brute_ctc(lp, target, blank=0):
    """-log of the summed probability of every path of len T that collapses to target."""
    frames, classes = lp.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=frames):
        if collapse(path, blank) == list(target):
            total += math.exp(sum(lp[t, c] for t, c in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


def test_ctc_matches_brute_force(device):
    frames, classes = 5, 3
    lp = log_softmax(RNG.standard_normal((frames, 3, classes)))
    targets = np.array([[1, 2], [1, 1], [2, 0]])
    target_lengths = [2, 2, 1]
    input_lengths = [5, 4, 5]
    want = [brute_ctc(lp[: input_lengths[n], n], targets[n, : target_lengths[n]]) for n in range(3)]
    got = F.ctc_loss(tg.tensor(lp, device=device), tg.tensor(targets, device=device),
                     input_lengths, target_lengths, reduction="none")  # fmt: skip
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    mean = F.ctc_loss(tg.tensor(lp, device=device), tg.tensor(targets, device=device),
                      input_lengths, target_lengths)  # fmt: skip
    assert np.isclose(mean.item(), np.mean(np.array(want) / np.array(target_lengths)))


def test_ctc_blank_index_concatenated_targets_and_impossible(device):
    lp = log_softmax(RNG.standard_normal((4, 2, 3)))
    # blank = 2; targets given as one concatenated 1-D tensor
    got = nn.CTCLoss(blank=2, reduction="sum")(
        tg.tensor(lp, device=device), tg.tensor([0, 1, 1], device=device), [4, 4], [2, 1]
    )
    want = brute_ctc(lp[:, 0], [0, 1], blank=2) + brute_ctc(lp[:, 1], [1], blank=2)
    assert np.isclose(got.item(), want, rtol=1e-10)
    # 3 repeated labels need at least 5 frames: impossible in 4 -> inf, or 0 with zero_infinity
    repeated = tg.tensor([[1, 1, 1]], device=device)
    lp1 = tg.tensor(lp[:, :1], device=device)
    assert math.isinf(F.ctc_loss(lp1, repeated, [4], [3], reduction="sum").item())
    assert F.ctc_loss(lp1, repeated, [4], [3], reduction="sum", zero_infinity=True).item() == 0


def test_ctc_backward_matches_finite_differences(device):
    lp = tg.tensor(log_softmax(RNG.standard_normal((5, 2, 3))), device=device, requires_grad=True)
    targets = tg.tensor([[1, 2], [2, 2]], device=device)

    def fn(v):
        return F.ctc_loss(v, targets, [5, 4], [2, 2], reduction="sum")

    assert tg.autograd.gradcheck(fn, [lp])


def test_affine_grid_identity_and_pixel_centres(device):
    theta = tg.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=tg.float64, device=device)
    grid = F.affine_grid(theta, [1, 1, 2, 4], align_corners=False).numpy()
    np.testing.assert_allclose(grid[0, 0, :, 0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(grid[0, :, 0, 1], [-0.5, 0.5])
    aligned = F.affine_grid(theta, [1, 1, 2, 4], align_corners=True).numpy()
    np.testing.assert_allclose(aligned[0, 0, :, 0], [-1, -1 / 3, 1 / 3, 1])
    with pytest.raises(tg.ShapeError, match="affine_grid"):
        F.affine_grid(theta, [1, 1, 2, 3, 4])


def np_grid_sample(x, grid, align):
    """Bilinear reads with zero padding, one output pixel at a time."""
    n, c, h, w = x.shape
    out = np.zeros((n, c) + grid.shape[1:3])
    for b in range(n):
        for i in range(grid.shape[1]):
            for j in range(grid.shape[2]):
                gx, gy = grid[b, i, j]
                if align:
                    px, py = (gx + 1) / 2 * (w - 1), (gy + 1) / 2 * (h - 1)
                else:
                    px, py = ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2
                x0, y0 = math.floor(px), math.floor(py)
                for xx, yy in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)):
                    weight = (1 - abs(px - xx)) * (1 - abs(py - yy))
                    if 0 <= xx < w and 0 <= yy < h:
                        out[b, :, i, j] += weight * x[b, :, yy, xx]
    return out


@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_bilinear_matches_numpy(device, align):
    x = RNG.standard_normal((2, 3, 4, 5))
    grid = RNG.uniform(-1.3, 1.3, (2, 3, 4, 2))
    got = F.grid_sample(tg.tensor(x, device=device), tg.tensor(grid, device=device),
                        align_corners=align)  # fmt: skip
    np.testing.assert_allclose(got.numpy(), np_grid_sample(x, grid, align), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_backward_matches_finite_differences(device, padding_mode):
    x = tg.tensor(RNG.standard_normal((1, 2, 3, 4)), device=device, requires_grad=True)
    # keep samples away from pixel boundaries, where the bilinear weights have kinks
    grid = RNG.uniform(-1.2, 1.2, (1, 2, 3, 2))
    g = tg.tensor(grid, device=device, requires_grad=True)

    def fn(image, where):
        return F.grid_sample(image, where, padding_mode=padding_mode, align_corners=False)

    assert tg.autograd.gradcheck(fn, [x, g])


def test_grid_sample_nearest_and_border(device):
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    # far outside: zeros gives 0, border the corner pixel
    grid = tg.tensor([[[[5.0, 5.0], [-5.0, -5.0]]]], dtype=tg.float64, device=device)
    image = tg.tensor(x, device=device)
    np.testing.assert_allclose(F.grid_sample(image, grid).numpy().ravel(), [0.0, 0.0])
    border = F.grid_sample(image, grid, padding_mode="border").numpy().ravel()
    np.testing.assert_allclose(border, [11.0, 0.0])
    centre = tg.tensor([[[[-0.75, -2 / 3]]]], dtype=tg.float64, device=device)  # pixel (0, 0)
    assert F.grid_sample(image, centre, mode="nearest").item() == 0.0
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(image, grid, mode="bicubic")


def keys(x, a=-0.75):
    """Keys' cubic convolution kernel W(x)."""
    x = abs(x)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    if x < 2:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return 0.0


def np_bicubic(img, out_h, out_w, align):
    """Direct 4 x 4 sums per output pixel, taps past the edge clamped to it."""
    n, c, h, w = img.shape
    out = np.zeros((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            if align:
                sy = i * (h - 1) / (out_h - 1) if out_h > 1 else 0.0
                sx = j * (w - 1) / (out_w - 1) if out_w > 1 else 0.0
            else:
                sy = (i + 0.5) * h / out_h - 0.5
                sx = (j + 0.5) * w / out_w - 0.5
            y0, x0 = math.floor(sy), math.floor(sx)
            for dy in range(-1, 3):
                for dx in range(-1, 3):
                    weight = keys(sy - (y0 + dy)) * keys(sx - (x0 + dx))
                    yy = min(max(y0 + dy, 0), h - 1)
                    xx = min(max(x0 + dx, 0), w - 1)
                    out[:, :, i, j] += weight * img[:, :, yy, xx]
    return out


@pytest.mark.parametrize("size, align", [((9, 4), True), ((3, 11), False), ((7, 7), False)])
def test_bicubic_interpolate_matches_numpy(device, size, align):
    x = RNG.standard_normal((1, 2, 5, 6))
    got = F.interpolate(tg.tensor(x, device=device), size=size, mode="bicubic",
                        align_corners=align)  # fmt: skip
    np.testing.assert_allclose(got.numpy(), np_bicubic(x, *size, align), rtol=1e-10, atol=1e-12)
    x64 = tg.tensor(x, device=device, requires_grad=True)
    fn = lambda v: F.interpolate(v, size=size, mode="bicubic", align_corners=align)  # noqa: E731
    assert tg.autograd.gradcheck(fn, [x64])


def test_area_interpolate_is_adaptive_average_pooling(device):
    x = RNG.standard_normal((2, 3, 6, 8))
    got = F.interpolate(tg.tensor(x, device=device), scale_factor=0.5, mode="area").numpy()
    np.testing.assert_allclose(got, x.reshape(2, 3, 3, 2, 4, 2).mean((3, 5)), rtol=1e-12)
    line = F.interpolate(tg.tensor(x[:, :, 0], device=device), size=4, mode="area").numpy()
    np.testing.assert_allclose(line, x[:, :, 0].reshape(2, 3, 4, 2).mean(-1), rtol=1e-12)
