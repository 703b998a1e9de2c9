"""Inter-annotator agreement on a project's clips (issue 12): frame-level Cohen's κ and segment-level F1.

Where two annotators (:attr:`core.project.Clip.annotator`) labelled the same video, each one's clips give every
*unit* — one frame of one row, a row being a track or the whole frame — a label, or ``NONE`` where no clip of theirs
covers it (a frame covered by several of one annotator's clips takes the label of the last-added one). Over the units
of the rows either annotator used, in the frames of the video:

- frame-level Cohen's κ overall (scikit-learn :func:`~sklearn.metrics.cohen_kappa_score` of the two label sequences)
  and per label (κ of "this label" vs "any other", one-vs-rest);
- segment-level F1 at IoU ≥ 0.5: a clip of one annotator matches an unmatched clip of the other with the same row and
  label whose frame IoU is at least 0.5 (greedy, best IoU first); F1 = 2·matches / (clips of A + clips of B);
- the disagreeing stretches: runs of consecutive frames of a row where the two labels differ.

Pure functions of clips; no Qt, no database writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import PoseWatchError
from .project import frame_iou

#: The label of a unit no clip covers.
NONE = "(none)"
#: Segments match at this frame IoU or more.
IOU_THRESHOLD = 0.5


class AgreementError(PoseWatchError):
    """No two annotators to compare (one line saying what was found)."""


@dataclass(frozen=True)
class Stretch:
    """Frames ``start..end`` (inclusive, 0-based) of one row of a video where the annotators disagree."""

    video_id: int
    video: str
    track_id: int | None
    start: int
    end: int
    label_a: str
    label_b: str

    def describe(self) -> str:
        """``fi001.mp4 #3 frames 10–20: fall vs (none)``."""
        who = "whole frame" if self.track_id is None else f"#{self.track_id}"
        return f"{self.video} {who} frames {self.start}–{self.end}: {self.label_a} vs {self.label_b}"


@dataclass
class Agreement:
    """Agreement of annotators ``a`` and ``b`` on some videos.

    Attributes:
        a, b: annotator names.
        videos: names of the videos compared.
        units: number of (row, frame) units compared.
        kappa: overall frame-level Cohen's κ (nan when both gave every unit one and the same label).
        kappa_per_label: ``{label: κ}`` one-vs-rest, for every label either annotator used.
        f1, matches, segments_a, segments_b: segment-level F1 at IoU ≥ 0.5 and its counts.
        stretches: the disagreeing :class:`Stretch` es, by video, row and frame.
    """

    a: str
    b: str
    videos: list[str] = field(default_factory=list)
    units: int = 0
    kappa: float = float("nan")
    kappa_per_label: dict[str, float] = field(default_factory=dict)
    f1: float = float("nan")
    matches: int = 0
    segments_a: int = 0
    segments_b: int = 0
    stretches: list[Stretch] = field(default_factory=list)


@dataclass
class AgreementReport:
    """Per video and over all of them: ``per_video`` ``{video name: Agreement}`` and ``overall``."""

    per_video: dict[str, Agreement]
    overall: Agreement

    def lines(self, max_stretches: int = 20) -> list[str]:
        """The report as text lines (the CLI prints them)."""
        out = []
        for name, ag in list(self.per_video.items()) + [("all videos", self.overall)]:
            per = ", ".join(f"{k} {_fmt(v)}" for k, v in ag.kappa_per_label.items())
            out.append(f"{name}: {ag.a} vs {ag.b}: kappa {_fmt(ag.kappa)} ({per}); segment F1@IoU0.5 {_fmt(ag.f1)} "
                       f"({ag.matches} matched of {ag.segments_a} + {ag.segments_b}); {len(ag.stretches)} "
                       f"disagreeing stretch(es) in {ag.units} units")
        st = self.overall.stretches
        for s in st[:max_stretches]:
            out.append(f"  {s.describe()}")
        if len(st) > max_stretches:
            out.append(f"  … and {len(st) - max_stretches} more")
        return out


def _fmt(v: float) -> str:
    return "n/a" if v != v else f"{v:.3f}"


def annotators(clips) -> list[str]:
    """The annotators of ``clips`` (sorted; an empty name counts as an annotator ``""``)."""
    return sorted({c.annotator for c in clips})


def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    from sklearn.metrics import cohen_kappa_score

    if len(a) == 0 or (len(set(a.tolist()) | set(b.tolist())) < 2):
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(cohen_kappa_score(a, b))


def _paint(clips, rows: dict, n: int) -> np.ndarray:
    """``(R, n)`` object array of labels: every row of ``rows`` ({track: index}) over ``n`` frames."""
    out = np.full((len(rows), n), NONE, dtype=object)
    for c in sorted(clips, key=lambda c: (c.created, c.id)):
        out[rows[c.track_id], max(0, c.start):min(n, c.end + 1)] = c.label
    return out


def _segment_matches(ca, cb) -> int:
    pairs = []
    for i, x in enumerate(ca):
        for k, y in enumerate(cb):
            if x.track_id != y.track_id or x.label != y.label:
                continue
            iou = frame_iou(x.start, x.end, y.start, y.end)
            if iou >= IOU_THRESHOLD:
                pairs.append((iou, i, k))
    used_a, used_b, m = set(), set(), 0
    for _iou, i, k in sorted(pairs, reverse=True):
        if i not in used_a and k not in used_b:
            used_a.add(i)
            used_b.add(k)
            m += 1
    return m


def _stretches(video, rows: dict, la: np.ndarray, lb: np.ndarray) -> list[Stretch]:
    out = []
    name = video.name or str(video.path)
    for track, r in sorted(rows.items(), key=lambda kv: kv[1]):
        diff = np.flatnonzero(la[r] != lb[r])
        if not len(diff):
            continue
        cuts = np.flatnonzero((np.diff(diff) != 1) | (la[r][diff[1:]] != la[r][diff[:-1]])
                              | (lb[r][diff[1:]] != lb[r][diff[:-1]])) + 1
        for seg in np.split(diff, cuts):
            s, e = int(seg[0]), int(seg[-1])
            out.append(Stretch(video.id, name, track, s, e, str(la[r][s]), str(lb[r][s])))
    return out


def _finish(ag: Agreement, la: np.ndarray, lb: np.ndarray) -> None:
    ag.units = int(len(la))
    ag.kappa = _kappa(la, lb)
    labels = sorted((set(la.tolist()) | set(lb.tolist())) - {NONE})
    ag.kappa_per_label = {lab: _kappa(la == lab, lb == lab) for lab in labels}
    total = ag.segments_a + ag.segments_b
    ag.f1 = 2 * ag.matches / total if total else float("nan")


def agreement(project, a: str | None = None, b: str | None = None) -> AgreementReport:
    """Agreement of annotators ``a`` and ``b`` on every video of ``project`` both labelled.

    Args:
        project: an open :class:`core.project.Project`.
        a, b: annotator names (default: the first two, in name order, of the first video that has two or more).

    Returns:
        :class:`AgreementReport` (videos in project order).

    Raises:
        AgreementError: no video has clips of both annotators (the line names the annotators found).
    """
    videos = project.videos()
    by_video = {v.id: project.clips(v.id) for v in videos}
    if a is None or b is None:
        given = a if a is not None else b
        names = next((ns for ns in (annotators(cs) for cs in by_video.values())
                      if len(ns) >= 2 and (given is None or given in ns)), None)
        if names is None:
            found = annotators([c for cs in by_video.values() for c in cs])
            raise AgreementError("no video has clips of two annotators (annotators: "
                                 f"{', '.join(repr(x) for x in found) or 'none'})")
        a = given if given is not None else names[0]
        b = next(x for x in names if x != a)
    if a == b:
        raise AgreementError(f"compare two different annotators (got '{a}' twice)")
    per_video: dict[str, Agreement] = {}
    overall = Agreement(a, b)
    all_a, all_b = [], []
    for v in videos:
        ca = [c for c in by_video[v.id] if c.annotator == a]
        cb = [c for c in by_video[v.id] if c.annotator == b]
        if not ca or not cb:
            continue
        n = max(int(v.frame_count), max(c.end for c in ca + cb) + 1)
        tracks = sorted({c.track_id for c in ca + cb}, key=lambda t: (t is not None, t or 0))
        rows = {t: i for i, t in enumerate(tracks)}
        pa, pb = _paint(ca, rows, n), _paint(cb, rows, n)
        name = v.name or str(v.path)
        ag = Agreement(a, b, [name], segments_a=len(ca), segments_b=len(cb), matches=_segment_matches(ca, cb))
        ag.stretches = _stretches(v, rows, pa, pb)
        la, lb = pa.ravel().astype(str), pb.ravel().astype(str)
        _finish(ag, la, lb)
        per_video[name] = ag
        all_a.append(la)
        all_b.append(lb)
        overall.videos.append(name)
        overall.matches += ag.matches
        overall.segments_a += ag.segments_a
        overall.segments_b += ag.segments_b
        overall.stretches += ag.stretches
    if not per_video:
        raise AgreementError(f"no video has clips of both '{a}' and '{b}'")
    _finish(overall, np.concatenate(all_a), np.concatenate(all_b))
    return AgreementReport(per_video, overall)
