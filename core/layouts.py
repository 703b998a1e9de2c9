"""Skeleton layouts: joint names, bones for drawing, left/right pairs, and the map to the common joints.

Layouts defined here (joint orders as their sources publish them):

- ``coco17``: COCO keypoints, as YOLO-pose outputs them (Lin et al., ECCV 2014; ultralytics).
- ``mediapipe33``: BlazePose / MediaPipe PoseLandmarker landmarks (Bazarevsky et al., 2020).
- ``aihub17``: the 17 Azure-Kinect-style joints of the Korean AI-Hub abnormal-behaviour CSVs
  (PELVIS … HEAD; the order of ``../shared/data/skeleton/aihub/datavalid.csv``).
- ``alphapose13``: the 13 AlphaPose keypoints of the URFD CSV (Nose, L/R Shoulder … Ankle).
- ``openpose18``: OpenPose BODY_18 / COCO-18 (Cao et al., CVPR 2017), with Neck at index 1.

Every layout maps to :data:`COMMON_JOINTS`, the 13 joints classifiers use, in the order of the
26 feature columns ``SHOULDER_LEFT_X … HEAD_Y`` of the AI-Hub data (the yololstm feature set).
"HEAD" is the head centre in AI-Hub/Kinect data and the nose in the other layouts (the nearest
joint they have).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The common joint set (13 joints) in AI-Hub column order.
COMMON_JOINTS: tuple[str, ...] = (
    "SHOULDER_LEFT", "ELBOW_LEFT", "WRIST_LEFT",
    "SHOULDER_RIGHT", "ELBOW_RIGHT", "WRIST_RIGHT",
    "HIP_LEFT", "KNEE_LEFT", "ANKLE_LEFT",
    "HIP_RIGHT", "KNEE_RIGHT", "ANKLE_RIGHT",
    "HEAD",
)


@dataclass(frozen=True)
class SkeletonLayout:
    """A named skeleton layout.

    Attributes:
        name: identifier (``coco17``, ``mediapipe33``, ``aihub17``, ``alphapose13``, ``openpose18``).
        joints: joint names in keypoint-array order (upper-case, ``SIDE`` last: ``SHOULDER_LEFT``).
        bones: pairs of joint indices drawn as limbs.
        flip_pairs: pairs of joint indices swapped by a left/right flip.
        common: for each of :data:`COMMON_JOINTS`, the index of the joint in this layout.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())
    common: tuple[int, ...] = field(default=())

    @property
    def num_joints(self) -> int:
        """Number of joints V."""
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Index of ``joint`` (case-insensitive). Raises KeyError if absent."""
        return self.joints.index(joint.upper())


def _build(name: str, joints: list[str], bones_by_name: list[tuple[str, str]], head: str) -> SkeletonLayout:
    idx = {j: i for i, j in enumerate(joints)}
    bones = tuple((idx[a], idx[b]) for a, b in bones_by_name)
    flips = []
    for j in joints:
        if j.endswith("_LEFT"):
            r = j[: -len("_LEFT")] + "_RIGHT"
            if r in idx:
                flips.append((idx[j], idx[r]))
    common = tuple(idx[head] if c == "HEAD" else idx[c] for c in COMMON_JOINTS)
    return SkeletonLayout(name, tuple(joints), bones, tuple(flips), common)


_LIMBS = [
    ("SHOULDER_LEFT", "ELBOW_LEFT"), ("ELBOW_LEFT", "WRIST_LEFT"),
    ("SHOULDER_RIGHT", "ELBOW_RIGHT"), ("ELBOW_RIGHT", "WRIST_RIGHT"),
    ("SHOULDER_LEFT", "SHOULDER_RIGHT"), ("HIP_LEFT", "HIP_RIGHT"),
    ("SHOULDER_LEFT", "HIP_LEFT"), ("SHOULDER_RIGHT", "HIP_RIGHT"),
    ("HIP_LEFT", "KNEE_LEFT"), ("KNEE_LEFT", "ANKLE_LEFT"),
    ("HIP_RIGHT", "KNEE_RIGHT"), ("KNEE_RIGHT", "ANKLE_RIGHT"),
]

COCO17 = _build(
    "coco17",
    ["NOSE", "EYE_LEFT", "EYE_RIGHT", "EAR_LEFT", "EAR_RIGHT",
     "SHOULDER_LEFT", "SHOULDER_RIGHT", "ELBOW_LEFT", "ELBOW_RIGHT", "WRIST_LEFT", "WRIST_RIGHT",
     "HIP_LEFT", "HIP_RIGHT", "KNEE_LEFT", "KNEE_RIGHT", "ANKLE_LEFT", "ANKLE_RIGHT"],
    _LIMBS + [("NOSE", "EYE_LEFT"), ("NOSE", "EYE_RIGHT"), ("EYE_LEFT", "EAR_LEFT"), ("EYE_RIGHT", "EAR_RIGHT")],
    head="NOSE",
)

MEDIAPIPE33 = _build(
    "mediapipe33",
    ["NOSE", "EYE_INNER_LEFT", "EYE_LEFT", "EYE_OUTER_LEFT", "EYE_INNER_RIGHT", "EYE_RIGHT",
     "EYE_OUTER_RIGHT", "EAR_LEFT", "EAR_RIGHT", "MOUTH_LEFT", "MOUTH_RIGHT",
     "SHOULDER_LEFT", "SHOULDER_RIGHT", "ELBOW_LEFT", "ELBOW_RIGHT", "WRIST_LEFT", "WRIST_RIGHT",
     "PINKY_LEFT", "PINKY_RIGHT", "INDEX_LEFT", "INDEX_RIGHT", "THUMB_LEFT", "THUMB_RIGHT",
     "HIP_LEFT", "HIP_RIGHT", "KNEE_LEFT", "KNEE_RIGHT", "ANKLE_LEFT", "ANKLE_RIGHT",
     "HEEL_LEFT", "HEEL_RIGHT", "FOOT_INDEX_LEFT", "FOOT_INDEX_RIGHT"],
    _LIMBS + [
        ("NOSE", "EYE_INNER_LEFT"), ("EYE_INNER_LEFT", "EYE_LEFT"), ("EYE_LEFT", "EYE_OUTER_LEFT"),
        ("EYE_OUTER_LEFT", "EAR_LEFT"), ("NOSE", "EYE_INNER_RIGHT"), ("EYE_INNER_RIGHT", "EYE_RIGHT"),
        ("EYE_RIGHT", "EYE_OUTER_RIGHT"), ("EYE_OUTER_RIGHT", "EAR_RIGHT"), ("MOUTH_LEFT", "MOUTH_RIGHT"),
        ("WRIST_LEFT", "PINKY_LEFT"), ("WRIST_LEFT", "INDEX_LEFT"), ("PINKY_LEFT", "INDEX_LEFT"),
        ("WRIST_LEFT", "THUMB_LEFT"), ("WRIST_RIGHT", "PINKY_RIGHT"), ("WRIST_RIGHT", "INDEX_RIGHT"),
        ("PINKY_RIGHT", "INDEX_RIGHT"), ("WRIST_RIGHT", "THUMB_RIGHT"),
        ("ANKLE_LEFT", "HEEL_LEFT"), ("HEEL_LEFT", "FOOT_INDEX_LEFT"), ("ANKLE_LEFT", "FOOT_INDEX_LEFT"),
        ("ANKLE_RIGHT", "HEEL_RIGHT"), ("HEEL_RIGHT", "FOOT_INDEX_RIGHT"), ("ANKLE_RIGHT", "FOOT_INDEX_RIGHT"),
    ],
    head="NOSE",
)

AIHUB17 = _build(
    "aihub17",
    ["PELVIS", "SPINE_NAVAL", "SPINE_CHEST", "NECK",
     "SHOULDER_LEFT", "ELBOW_LEFT", "WRIST_LEFT", "SHOULDER_RIGHT", "ELBOW_RIGHT", "WRIST_RIGHT",
     "HIP_LEFT", "KNEE_LEFT", "ANKLE_LEFT", "HIP_RIGHT", "KNEE_RIGHT", "ANKLE_RIGHT", "HEAD"],
    [("PELVIS", "SPINE_NAVAL"), ("SPINE_NAVAL", "SPINE_CHEST"), ("SPINE_CHEST", "NECK"), ("NECK", "HEAD"),
     ("SPINE_CHEST", "SHOULDER_LEFT"), ("SPINE_CHEST", "SHOULDER_RIGHT"),
     ("SHOULDER_LEFT", "ELBOW_LEFT"), ("ELBOW_LEFT", "WRIST_LEFT"),
     ("SHOULDER_RIGHT", "ELBOW_RIGHT"), ("ELBOW_RIGHT", "WRIST_RIGHT"),
     ("PELVIS", "HIP_LEFT"), ("PELVIS", "HIP_RIGHT"),
     ("HIP_LEFT", "KNEE_LEFT"), ("KNEE_LEFT", "ANKLE_LEFT"),
     ("HIP_RIGHT", "KNEE_RIGHT"), ("KNEE_RIGHT", "ANKLE_RIGHT")],
    head="HEAD",
)

ALPHAPOSE13 = _build(
    "alphapose13",
    ["NOSE", "SHOULDER_LEFT", "SHOULDER_RIGHT", "ELBOW_LEFT", "ELBOW_RIGHT", "WRIST_LEFT", "WRIST_RIGHT",
     "HIP_LEFT", "HIP_RIGHT", "KNEE_LEFT", "KNEE_RIGHT", "ANKLE_LEFT", "ANKLE_RIGHT"],
    _LIMBS + [("NOSE", "SHOULDER_LEFT"), ("NOSE", "SHOULDER_RIGHT")],
    head="NOSE",
)

OPENPOSE18 = _build(
    "openpose18",
    ["NOSE", "NECK", "SHOULDER_RIGHT", "ELBOW_RIGHT", "WRIST_RIGHT", "SHOULDER_LEFT", "ELBOW_LEFT",
     "WRIST_LEFT", "HIP_RIGHT", "KNEE_RIGHT", "ANKLE_RIGHT", "HIP_LEFT", "KNEE_LEFT", "ANKLE_LEFT",
     "EYE_RIGHT", "EYE_LEFT", "EAR_RIGHT", "EAR_LEFT"],
    [("NECK", "SHOULDER_RIGHT"), ("SHOULDER_RIGHT", "ELBOW_RIGHT"), ("ELBOW_RIGHT", "WRIST_RIGHT"),
     ("NECK", "SHOULDER_LEFT"), ("SHOULDER_LEFT", "ELBOW_LEFT"), ("ELBOW_LEFT", "WRIST_LEFT"),
     ("NECK", "HIP_RIGHT"), ("HIP_RIGHT", "KNEE_RIGHT"), ("KNEE_RIGHT", "ANKLE_RIGHT"),
     ("NECK", "HIP_LEFT"), ("HIP_LEFT", "KNEE_LEFT"), ("KNEE_LEFT", "ANKLE_LEFT"),
     ("NECK", "NOSE"), ("NOSE", "EYE_RIGHT"), ("EYE_RIGHT", "EAR_RIGHT"),
     ("NOSE", "EYE_LEFT"), ("EYE_LEFT", "EAR_LEFT")],
    head="NOSE",
)

#: The 13-joint common layout itself (what :func:`to_common` returns), for drawing and graphs.
COMMON13 = _build("common13", list(COMMON_JOINTS), _LIMBS + [("HEAD", "SHOULDER_LEFT"), ("HEAD", "SHOULDER_RIGHT")], head="HEAD")

LAYOUTS: dict[str, SkeletonLayout] = {
    lay.name: lay for lay in (COCO17, MEDIAPIPE33, AIHUB17, ALPHAPOSE13, OPENPOSE18, COMMON13)
}


def get_layout(name: str) -> SkeletonLayout:
    """Return the layout called ``name``.

    Raises:
        KeyError: with the list of known layouts.
    """
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton layout '{name}'; known: {', '.join(LAYOUTS)}") from None


def to_common(keypoints: np.ndarray, layout: str | SkeletonLayout) -> np.ndarray:
    """Select the 13 common joints.

    Args:
        keypoints: ``(..., V, C)`` array in ``layout`` (C is 2 or 3: x, y[, score]).
        layout: the layout name or object; V must equal its joint count.

    Returns:
        ``(..., 13, C)`` array, same dtype, joints in :data:`COMMON_JOINTS` order.

    Raises:
        ValueError: V does not match the layout.
    """
    lay = get_layout(layout) if isinstance(layout, str) else layout
    if keypoints.shape[-2] != lay.num_joints:
        raise ValueError(f"keypoints have {keypoints.shape[-2]} joints, layout {lay.name} has {lay.num_joints}")
    return keypoints[..., list(lay.common), :]


def common_adjacency() -> np.ndarray:
    """``(13, 13)`` float32 symmetric 0/1 adjacency of the common joint graph (no self loops)."""
    a = np.zeros((len(COMMON_JOINTS), len(COMMON_JOINTS)), np.float32)
    for i, j in COMMON13.bones:
        a[i, j] = a[j, i] = 1.0
    return a


#: Joints of the common layout next to the body's centre of gravity (ST-GCN's spatial partition): shoulders, hips.
COMMON_CENTRE: tuple[str, ...] = ("SHOULDER_LEFT", "SHOULDER_RIGHT", "HIP_LEFT", "HIP_RIGHT")


def skeleton_graph(layout: str | SkeletonLayout = "common13") -> dict:
    """The graph a graph classifier (``models.stgcn.STGCN``) is built on, as model-config entries.

    Returns:
        ``{"num_joints": V, "edges": [[i, j], …] (the layout's bones), "centre": [joint indices]}`` (JSON-able,
        so it is stored with the checkpoint's ``model_config``). ``centre`` is the shoulders and hips the layout
        has (empty when it has none).

    Raises:
        KeyError: unknown layout.
    """
    lay = get_layout(layout) if isinstance(layout, str) else layout
    centre = [lay.joints.index(j) for j in COMMON_CENTRE if j in lay.joints]
    return {"num_joints": lay.num_joints, "edges": [[int(i), int(j)] for i, j in lay.bones], "centre": centre}
