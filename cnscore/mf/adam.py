"""Full-batch Adam over named numpy arrays, step for step as torch.optim.Adam.

The reference fits its side models (low-diligence reputation MF, harassment tag consensus) with
full-batch Adam and early stopping; reproducing them means reproducing that optimizer, its bias
correction included. Parameters are updated in place.
"""

from __future__ import annotations

import numpy as np


class Adam:
    """torch.optim.Adam with default betas (0.9, 0.999), eps 1e-8 and no weight decay.

    Only the arrays named in `trainable` move; a fresh Adam has fresh moments, as a new torch
    optimizer has.
    """

    def __init__(self, params: dict[str, np.ndarray], trainable: tuple[str, ...], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        unknown = set(trainable) - set(params)
        if unknown:
            raise KeyError(f"Adam: no parameter named {sorted(unknown)}")
        self.params, self.trainable, self.lr, self.eps = params, tuple(trainable), lr, eps
        self.beta1, self.beta2 = betas
        self.step_count = 0
        self._m = {name: np.zeros_like(params[name]) for name in self.trainable}
        self._v = {name: np.zeros_like(params[name]) for name in self.trainable}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """One update of every trainable array from its gradient (grads may hold more names)."""
        self.step_count += 1
        t = self.step_count
        correction1 = 1.0 - self.beta1 ** t
        correction2_sqrt = np.sqrt(1.0 - self.beta2 ** t)
        for name in self.trainable:
            grad = grads[name]
            m, v = self._m[name], self._v[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * grad
            v *= self.beta2
            v += (1.0 - self.beta2) * grad * grad
            denom = np.sqrt(v) / correction2_sqrt + self.eps
            self.params[name] -= (self.lr / correction1) * m / denom
