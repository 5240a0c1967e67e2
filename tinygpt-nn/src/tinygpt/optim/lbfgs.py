"""L-BFGS: a quasi-Newton method that builds an inverse-Hessian estimate from the last
`history_size` steps, PyTorch's `torch.optim.LBFGS` (closure-based, one param group).

    opt = LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe")
    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss
    opt.step(closure)      # up to max_iter iterations, each re-evaluating the closure

All parameters are handled as one flat vector (their gradients concatenated). The search
direction comes from the two-loop recursion (Nocedal & Wright, algorithm 7.4); the step is
`lr` (the first, `lr * min(1, 1 / |g|_1)`) or, with "strong_wolfe", a line search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .line_search import strong_wolfe
from .optimizer import Optimizer, ParamsT

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """Limited-memory BFGS. `step(closure)` needs a closure that recomputes the loss (and
    the gradients, via `backward`) and returns the loss.

    State (of the first parameter, as PyTorch): `func_evals`, `n_iter`, and the history
    (`old_dirs`, `old_stps`, `ro`, `H_diag`, `d`, `t`, `prev_flat_grad`, `prev_loss`).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}"
            )
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    # ------------------------------------------------------- flat vectors
    def _gather_flat_grad(self) -> Tensor:
        """Every parameter's gradient (zeros where there is none) as one (N,) vector."""
        parts = []
        for p in self._params:
            g = p.grad if p.grad is not None else tg.zeros_like(p)
            parts.append(g.reshape(-1))
        return tg.cat(parts, 0)

    def _add_grad(self, step: float, direction: Tensor) -> None:
        """p += step * (p's slice of direction), for every parameter."""
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(direction[offset : offset + n].reshape(p.shape), alpha=step)
            offset += n

    def _directional_evaluate(
        self, closure: Callable[[], Any], x: list[Tensor], t: float, d: Tensor
    ) -> tuple[float, Tensor]:
        """Loss and flat gradient at x + t d; the parameters are put back to x after."""
        self._add_grad(t, d)
        with tg.enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        for p, saved in zip(self._params, x):
            p.copy_(saved)
        return loss, flat_grad

    # ---------------------------------------------------------------- step
    def step(self, closure: Any = None) -> Any:
        """Run up to `max_iter` iterations; returns the loss from the first closure call."""
        if closure is None:
            raise RuntimeError("LBFGS.step: needs a closure that re-evaluates the model")
        with tg.no_grad():
            return self._step(closure)

    def _step(self, closure: Callable[[], Any]) -> Any:
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with tg.enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if _abs_max(flat_grad) <= tol_grad:  # already at a stationary point
            return orig_loss

        d, t = state.get("d"), state.get("t")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # steepest descent until there is a history
                d = -flat_grad
                state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            else:
                assert d is not None and t is not None and prev_flat_grad is not None
                self._remember(state, flat_grad - prev_flat_grad, d * t, group["history_size"])
                d = _two_loop(state, flat_grad)
            prev_flat_grad = flat_grad.clone()
            prev_loss = loss
            # the first step is scaled down by the gradient's size: there is no curvature yet
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(flat_grad.abs().sum().item())) * lr
            else:
                t = lr
            gtd = float(flat_grad.dot(d).item())  # slope along d; must point downhill
            if gtd > -tol_change:
                break

            if group["line_search_fn"] is not None:
                x_init = [p.clone() for p in self._params]

                def objective(x: list[Tensor], step: float, direction: Tensor) -> Any:
                    return self._directional_evaluate(closure, x, step, direction)

                loss, flat_grad, t, ls_evals = strong_wolfe(
                    objective, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - evals
                )
                self._add_grad(t, d)
                converged = _abs_max(flat_grad) <= tol_grad
            else:
                self._add_grad(t, d)
                ls_evals = 0
                converged = False
                if n_iter != max_iter:  # re-evaluate, unless this was the last iteration
                    with tg.enable_grad():
                        loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    converged = _abs_max(flat_grad) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if _abs_max(d * t) <= tol_change or abs(loss - prev_loss) < tol_change:
                break  # no more progress in x or in the loss

        state.update(d=d, t=t, prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _remember(state: dict[str, Any], y: Tensor, s: Tensor, history_size: int) -> None:
        """Add the pair (s = step taken, y = change of gradient) if the curvature y.s > 0."""
        ys = float(y.dot(s).item())
        if ys <= 1e-10:  # NOTE: skipping keeps the inverse-Hessian estimate positive definite
            return
        if len(state["old_dirs"]) == history_size:
            for key in ("old_dirs", "old_stps", "ro"):
                state[key].pop(0)
        state["old_dirs"].append(y)
        state["old_stps"].append(s)
        state["ro"].append(1.0 / ys)
        state["H_diag"] = ys / float(y.dot(y).item())


def _two_loop(state: dict[str, Any], flat_grad: Tensor) -> Tensor:
    """-H g for the inverse-Hessian estimate H of the stored (s, y) pairs."""
    dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
    alphas = [0.0] * len(dirs)
    q = -flat_grad
    for i in range(len(dirs) - 1, -1, -1):
        alphas[i] = float(stps[i].dot(q).item()) * ro[i]
        q = q - dirs[i] * alphas[i]
    r = q * state["H_diag"]
    for i in range(len(dirs)):
        beta = float(dirs[i].dot(r).item()) * ro[i]
        r = r + stps[i] * (alphas[i] - beta)
    return r


def _abs_max(t: Tensor) -> float:
    return float(t.abs().max().item())
