"""What a project's labels amount to before training or export: clips, frames and windows per label, per annotator
and per split.

The split is the export's (:func:`core.exporting.split_videos`: whole videos to train / val / test with the same
ratios and seed), so the summary shows what ``main.py export`` will write. Windows are *window slots*: a clip of
L frames gives ``(L - window) // stride + 1`` windows of ``window`` frames every ``stride`` frames (0 when
``L < window``) — the most the export can make of it; frames where the person was not detected make fewer
(the export's own summary counts those). Reading the summary needs only the project database, no skeletons, so
it is instant on a project of thousands of clips.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

#: Annotator name shown for clips without one.
NO_ANNOTATOR = "(none)"
#: A label with fewer clips than this in a split gets a warning.
MIN_CLIPS = 3


@dataclass
class DatasetSummary:
    """Counts of a project's clips.

    Attributes:
        labels: the project's label names (taxonomy order).
        per_label: ``{label: {"clips", "frames", "windows", "videos"}}``.
        per_annotator: ``{annotator: {label: clips}}``.
        per_split: ``{split: {label: {"clips", "windows"}}}`` for ``train``, ``val``, ``test``.
        videos_per_split: ``{split: number of videos}``.
        window, stride: frames (the window slots' size and step).
        warnings: one line each: a label without clips, a split that lacks a label or has fewer than
            :data:`MIN_CLIPS` clips of one.
    """

    labels: list[str]
    per_label: dict[str, dict[str, int]]
    per_annotator: dict[str, dict[str, int]]
    per_split: dict[str, dict[str, dict[str, int]]]
    videos_per_split: dict[str, int]
    window: int
    stride: int
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as aligned text lines (for the CLI and the GUI's dialog)."""
        w = max([len(n) for n in self.labels] + [5])
        out = [f"{'label':<{w}}  {'clips':>6} {'frames':>8} {'windows':>8} {'videos':>6}"]
        for n in self.labels:
            d = self.per_label[n]
            out.append(f"{n:<{w}}  {d['clips']:>6} {d['frames']:>8} {d['windows']:>8} {d['videos']:>6}")
        tot = {k: sum(self.per_label[n][k] for n in self.labels) for k in ("clips", "frames", "windows")}
        out.append(f"{'all':<{w}}  {tot['clips']:>6} {tot['frames']:>8} {tot['windows']:>8}")
        out.append(f"(windows of {self.window} frames every {self.stride} frames, at most)")
        out.append("")
        out.append("clips per annotator: " + ("none" if not self.per_annotator else ""))
        for a, counts in sorted(self.per_annotator.items()):
            out.append(f"  {a}: " + ", ".join(f"{n} {counts.get(n, 0)}" for n in self.labels if counts.get(n, 0)))
        out.append("")
        out.append("per split (clips / windows; whole videos, as the export splits them):")
        for s, per in self.per_split.items():
            parts = ", ".join(f"{n} {per[n]['clips']}/{per[n]['windows']}" for n in self.labels)
            out.append(f"  {s} ({self.videos_per_split.get(s, 0)} videos): {parts}")
        out += [f"warning: {m}" for m in self.warnings]
        return out


def dataset_summary(project, window: int = 16, stride: int = 16, ratios=(0.7, 0.15, 0.15), seed: int = 0
                    ) -> DatasetSummary:
    """Summarise ``project``'s clips (see the module docstring).

    Args:
        project: an open :class:`core.project.Project`.
        window, stride: frames of the window slots (the export's ``--window`` / ``--stride``).
        ratios, seed: the export's train/val/test split of the videos.

    Returns:
        A :class:`DatasetSummary`.

    Raises:
        ValueError: window or stride below 1. ExportError: bad ratios.
    """
    from .exporting import SPLIT_NAMES, split_videos

    if int(window) < 1 or int(stride) < 1:
        raise ValueError(f"window ({window}) and stride ({stride}) must be at least 1 frame")
    window, stride = int(window), int(stride)
    names = list(project.label_names())
    clips = project.clips()
    videos = {v.id: v for v in project.videos()}
    used = list(dict.fromkeys(c.video_id for c in clips))
    split = split_videos([videos[v].hash for v in used], ratios, seed) if used else {}

    def slots(n: int) -> int:
        return (n - window) // stride + 1 if n >= window else 0

    per_label = {n: {"clips": 0, "frames": 0, "windows": 0, "videos": 0} for n in names}
    vids: dict[str, set] = defaultdict(set)
    per_ann: dict[str, Counter] = defaultdict(Counter)
    per_split = {s: {n: {"clips": 0, "windows": 0} for n in names} for s in SPLIT_NAMES}
    for c in clips:  # a clip's label is always one of the taxonomy's (the database refers to it)
        d = per_label[c.label]
        n = int(c.end) - int(c.start) + 1
        d["clips"] += 1
        d["frames"] += n
        d["windows"] += slots(n)
        vids[c.label].add(c.video_id)
        per_ann[c.annotator.strip() or NO_ANNOTATOR][c.label] += 1
        s = split[videos[c.video_id].hash]
        per_split[s][c.label]["clips"] += 1
        per_split[s][c.label]["windows"] += slots(n)
    for n, v in vids.items():
        per_label[n]["videos"] = len(v)
    vps = Counter(split[videos[v].hash] for v in used)
    warnings = [f"label {n} has no clips" for n in names if per_label[n]["clips"] == 0]
    for s in SPLIT_NAMES:
        if not vps.get(s):
            continue
        missing = [n for n in names if per_label[n]["clips"] and not per_split[s][n]["clips"]]
        if missing:
            warnings.append(f"the {s} split has no clips of {', '.join(missing)}")
        few = [n for n in names if 0 < per_split[s][n]["clips"] < MIN_CLIPS]
        if few:
            warnings.append(f"the {s} split has fewer than {MIN_CLIPS} clips of {', '.join(few)}")
    return DatasetSummary(names, per_label, {a: dict(c) for a, c in per_ann.items()}, per_split,
                          {s: int(vps.get(s, 0)) for s in SPLIT_NAMES}, window, stride, warnings)
