"""A small multilayer perceptron over scene-feature vectors (the fight model, :mod:`core.fight`).

Input ``(N, F)`` float32: raw scene features (:func:`core.scene.scene_features`; ``(N, F, 1, 1)`` is accepted
too, the ``(N, C, T, V)`` shape of the skeleton models with T = V = 1). They are standardised inside the model
with the training set's mean and standard deviation (buffers ``mean``/``std``, saved with the weights), so a
checkpoint carries everything it needs. ``members`` independent MLPs (each ``layers`` hidden layers of
``hidden`` units, ReLU, dropout) are trained together and their logits averaged: a small ensemble, which on
the fight data gave steadier validation results than one network (``docs/BENCHMARKS.md``).
"""

from __future__ import annotations

import torch
import torch.nn as nn


class SceneMLP(nn.Module):
    """Ensemble of MLPs over standardised feature vectors.

    Args:
        num_classes: output classes; in_channels: F, features per vector; num_joints: ignored (registry
            signature; always 1).
        hidden: units per hidden layer; layers: hidden layers; dropout: after each hidden layer;
        members: MLPs averaged (>= 1).

    Input ``(N, F)`` or ``(N, F, 1, 1)`` float32; output ``(N, num_classes)`` logits.

    Raises:
        ValueError: bad sizes, or at forward time an input with a wrong feature count.
    """

    def __init__(self, num_classes: int, in_channels: int, num_joints: int = 1, hidden: int = 64, layers: int = 2,
                 dropout: float = 0.2, members: int = 3):
        super().__init__()
        if min(num_classes, in_channels, hidden, layers, members) < 1:
            raise ValueError("num_classes, in_channels, hidden, layers and members must be at least 1")
        self.in_channels = in_channels
        self.register_buffer("mean", torch.zeros(in_channels))
        self.register_buffer("std", torch.ones(in_channels))

        def mlp() -> nn.Sequential:
            parts, width = [], in_channels
            for _ in range(layers):
                parts += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
                width = hidden
            parts.append(nn.Linear(width, num_classes))
            return nn.Sequential(*parts)

        self.members = nn.ModuleList(mlp() for _ in range(members))

    def set_standardisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training features' per-feature ``mean`` and ``std`` ``(F,)`` (std floored at 1e-6)."""
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.clamp(torch.as_tensor(std, dtype=torch.float32), min=1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, F)`` (or ``(N, F, 1, 1)``) float32 → ``(N, num_classes)`` logits."""
        if x.dim() == 4:
            x = x.flatten(1)
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (N, {self.in_channels}), got {tuple(x.shape)}")
        z = (x - self.mean) / self.std
        return torch.stack([m(z) for m in self.members]).mean(0)
