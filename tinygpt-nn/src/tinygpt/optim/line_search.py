"""The strong-Wolfe line search LBFGS uses with `line_search_fn="strong_wolfe"`.

Along a direction d from x, find a step t whose loss f(x + t d) has dropped enough (the
Armijo condition, c1) and whose slope g(x + t d) . d has flattened enough (curvature, c2):
first grow t until a bracket [lo, hi] holds such a point, then shrink the bracket ("zoom")
with cubic interpolation (Nocedal & Wright, Numerical Optimization, algorithms 3.5 and 3.6).
Scalars are Python floats; gradients are flat tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from tinygpt import Tensor

__all__ = ["cubic_minimizer", "strong_wolfe"]

#: (x, t, d) -> (loss at x + t d, flat gradient there)
Objective = Callable[[list[Tensor], float, Tensor], tuple[float, Tensor]]


def cubic_minimizer(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2,
    clipped to `bounds` (default: between x1 and x2); the midpoint if the cubic has none.

    >>> round(cubic_minimizer(0.0, 1.0, -2.0, 2.0, 1.0, 2.0), 6)    # (x - 1)^2: min at 1
    1.0
    """
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        best = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        best = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(best, low), high)


@dataclass
class _Point:
    """One trial step: t, the loss there, the flat gradient and the slope along d."""

    t: float
    f: float
    g: Tensor
    gtd: float


def strong_wolfe(
    objective: Objective,
    x: list[Tensor],
    t: float,
    d: Tensor,
    f: float,
    g: Tensor,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, Tensor, float, int]:
    """Search along d from x (loss f, gradient g, slope gtd < 0), starting at step t.

    Returns (loss, flat gradient, step, number of objective evaluations).
    """
    d_norm = float(d.abs().max().item())
    start = _Point(0.0, f, g.clone(), gtd)
    evals = 0

    def trial(step: float) -> _Point:
        nonlocal evals
        evals += 1
        f_new, g_new = objective(x, step, d)
        return _Point(step, f_new, g_new, float(g_new.dot(d).item()))

    prev = start
    new = trial(t)
    bracket: list[_Point] = []
    done = False
    tries = 0
    # phase 1: grow the step until [prev, new] brackets an acceptable point
    while tries < max_ls:
        if new.f > f + c1 * new.t * gtd or (tries > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if abs(new.gtd) <= -c2 * gtd:  # both conditions hold: take it
            bracket = [new]
            done = True
            break
        if new.gtd >= 0:  # the slope turned: a minimum lies in between
            bracket = [prev, new]
            break
        grown = cubic_minimizer(
            prev.t,
            prev.f,
            prev.gtd,
            new.t,
            new.f,
            new.gtd,
            bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10),
        )
        prev = new
        new = trial(grown)
        tries += 1
    if tries == max_ls:
        bracket = [start, new]
    if len(bracket) == 1:
        best = bracket[0]
    else:
        best = _zoom(trial, bracket, f, gtd, c1, c2, tolerance_change, d_norm, done, tries, max_ls)
    return best.f, best.g, best.t, evals


def _zoom(
    trial: Callable[[float], _Point],
    bracket: list[_Point],
    f: float,
    gtd: float,
    c1: float,
    c2: float,
    tolerance_change: float,
    d_norm: float,
    done: bool,
    tries: int,
    max_ls: int,
) -> _Point:
    """Phase 2: shrink the bracket around an acceptable step by cubic interpolation."""
    low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
    stalled = False
    while not done and tries < max_ls:
        a, b = bracket[0], bracket[1]
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t = cubic_minimizer(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        top, bottom = max(a.t, b.t), min(a.t, b.t)
        margin = 0.1 * (top - bottom)
        # subtle: a trial too close to an end makes little progress; push it inside
        if min(top - t, t - bottom) < margin:
            if stalled or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        new = trial(t)
        tries += 1
        if new.f > f + c1 * t * gtd or new.f >= bracket[low].f:
            bracket[high] = new  # not low enough: the new high end
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
            continue
        if abs(new.gtd) <= -c2 * gtd:
            done = True
        elif new.gtd * (bracket[high].t - bracket[low].t) >= 0:
            bracket[high] = bracket[low]
        bracket[low] = new
    return bracket[low]
