"""A forest of decision trees over scene-feature vectors, stored as tensors (the fight model, :mod:`core.fight`).

Trained with scikit-learn's ``ExtraTreesClassifier`` (extremely randomised trees, Geurts, Ernst and Wehenkel,
Machine Learning 2006) and converted by :meth:`SceneForest.from_sklearn` into padded node arrays held as buffers,
so a checkpoint carries the forest in its ``state_dict`` like any other model (no pickled estimator: loading a
checkpoint runs no foreign code) and inference needs only torch. On the fight data's scene + motion vectors the
trees generalised to unseen source videos better than :class:`models.scene_mlp.SceneMLP` (cross-validated clip
ROC-AUC 0.87 vs 0.83, ``docs/BENCHMARKS.md``).

Input ``(N, F)`` float32 (``(N, F, 1, 1)`` accepted); output ``(N, num_classes)`` *log*-probabilities (the mean
of the trees' leaf class frequencies), so ``softmax`` of the output gives those probabilities back, as for the
other models' logits.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class SceneForest(nn.Module):
    """Decision trees as tensors.

    Args:
        num_classes: output classes; in_channels: F, features per vector; num_joints: ignored (registry
            signature); trees: number of trees; nodes: node slots per tree (the largest tree's node count);
            depth: the deepest leaf's depth (traversal steps).

    Buffers (trees K, nodes N): ``feature (K, N)`` int16 (-1 at a leaf), ``threshold (K, N)`` float32 (go left
    when ``x[feature] <= threshold``), ``left``/``right (K, N)`` int32 child indices (a leaf points to itself),
    ``value (K, N, num_classes)`` float16 class frequencies of the node's training samples (small integer types
    and half precision keep the shipped checkpoint small; the frequencies are exact to about 1e-3).

    Raises:
        ValueError: bad sizes, or at forward time an input with a wrong feature count.
    """

    def __init__(self, num_classes: int, in_channels: int, num_joints: int = 1, trees: int = 1, nodes: int = 1,
                 depth: int = 1):
        super().__init__()
        if min(num_classes, in_channels, trees, nodes) < 1 or depth < 0:
            raise ValueError("num_classes, in_channels, trees and nodes must be at least 1")
        self.in_channels, self.depth = int(in_channels), int(depth)
        if in_channels > 32767:
            raise ValueError("at most 32767 features")
        self.register_buffer("feature", torch.full((trees, nodes), -1, dtype=torch.int16))
        self.register_buffer("threshold", torch.zeros(trees, nodes))
        self.register_buffer("left", torch.zeros(trees, nodes, dtype=torch.int32))
        self.register_buffer("right", torch.zeros(trees, nodes, dtype=torch.int32))
        self.register_buffer("value", torch.full((trees, nodes, num_classes), 1.0 / num_classes, dtype=torch.float16))

    @staticmethod
    def config_of(estimator) -> dict:
        """The size options (``trees``, ``nodes``, ``depth``) of a fitted scikit-learn tree ensemble."""
        ests = estimator.estimators_
        return {"trees": len(ests), "nodes": max(e.tree_.node_count for e in ests),
                "depth": max(int(e.tree_.max_depth) for e in ests)}

    @classmethod
    def from_sklearn(cls, estimator, num_classes: int, in_channels: int) -> "SceneForest":
        """Convert a fitted ``ExtraTreesClassifier``/``RandomForestClassifier`` (classes ``0..num_classes-1``).

        Raises:
            ValueError: the estimator's classes are not ``0..num_classes-1`` or its feature count differs.
        """
        classes = [int(c) for c in getattr(estimator, "classes_", [])]
        if classes != list(range(num_classes)):
            raise ValueError(f"the forest's classes {classes} are not 0..{num_classes - 1}")
        if int(estimator.n_features_in_) != in_channels:
            raise ValueError(f"the forest has {estimator.n_features_in_} features, expected {in_channels}")
        m = cls(num_classes, in_channels, **cls.config_of(estimator))
        for k, e in enumerate(estimator.estimators_):
            t = e.tree_
            n = t.node_count
            left, right = torch.as_tensor(t.children_left), torch.as_tensor(t.children_right)
            leaf = left < 0
            idx = torch.arange(n)
            m.feature[k, :n] = torch.where(leaf, -1, torch.as_tensor(t.feature)).to(torch.int16)
            m.threshold[k, :n] = torch.as_tensor(t.threshold).float()
            m.left[k, :n] = torch.where(leaf, idx, left).to(torch.int32)
            m.right[k, :n] = torch.where(leaf, idx, right).to(torch.int32)
            v = torch.as_tensor(t.value[:, 0, :]).double()
            v = v / v.sum(1, keepdim=True).clamp(min=1e-12)
            m.value[k, :n] = v.to(torch.float16)
        return m

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, F)`` float32 → ``(N, num_classes)`` mean leaf class frequencies."""
        if x.dim() == 4:
            x = x.flatten(1)
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (N, {self.in_channels}), got {tuple(x.shape)}")
        n, k = x.shape[0], self.feature.shape[0]
        trees = torch.arange(k).unsqueeze(0).expand(n, k)
        node = torch.zeros(n, k, dtype=torch.long)
        for _ in range(self.depth):
            f = self.feature[trees, node].long()
            xv = torch.gather(x, 1, f.clamp(min=0))
            go_left = xv <= self.threshold[trees, node]
            nxt = torch.where(go_left, self.left[trees, node], self.right[trees, node]).long()
            node = torch.where(f < 0, node, nxt)
        return self.value[trees, node].float().mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, F)`` (or ``(N, F, 1, 1)``) float32 → ``(N, num_classes)`` log-probabilities."""
        return torch.log(self.probabilities(x).clamp(min=1e-6))
