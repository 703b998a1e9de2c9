"""The classifier checkpoints shipped with PoseWatch (``resources/models``).

Three small defaults, each with a model card next to it (``<name>.md``: data, layout, window, metrics,
the command that reproduces it, the data licences):

- ``abnormal_default.pt``: normal / theft / assault / vandalism, trained on the AI-Hub abnormal-behaviour
  skeletons (``datavalid.csv``).
- ``fall_default.pt``: upright / falling / lying, trained on the URFD pose CSV plus the labelled fall clips
  (``bench/make_fall_project.py``).
- ``fight_default.pt``: normal / fight for the whole scene, trained on real CCTV fight and no-fight clips (the
  Surveillance Camera Fight Dataset) with alert operating points chosen on held-out source videos
  (:mod:`core.fight`, ``bench/train_fight.py``).

The player and the live view use them when the user has trained (or chosen) nothing. Both are trained
on data licensed for non-commercial use only (see the model cards).

Environment variable ``POSEWATCH_RESOURCES``: another resources folder for the models (default: the installed
``posewatch_resources`` package, else ``resources/`` of the source tree; :func:`package_resources_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Default classifier kinds and their checkpoint file names in ``<resources>/models``.
DEFAULT_CLASSIFIERS: dict[str, str] = {"abnormal": "abnormal_default.pt", "fall": "fall_default.pt",
                                       "fight": "fight_default.pt"}


def package_resources_dir() -> Path:
    """PoseWatch's own resources folder: ``resources/`` next to ``core/`` when this code runs from a source tree
    (so a git worktree reads its own ``default.yaml``, not that of the tree an editable install points at), else the
    ``posewatch_resources`` package of an installed wheel."""
    import importlib.util

    tree = Path(__file__).resolve().parents[1] / "resources"
    if (tree / "default.yaml").is_file():
        return tree
    spec = importlib.util.find_spec("posewatch_resources")
    if spec is not None and spec.origin:
        return Path(spec.origin).resolve().parent
    return Path(__file__).resolve().parents[1] / "resources"


def resources_dir() -> Path:
    """The resources folder of the models: ``POSEWATCH_RESOURCES`` if set, else :func:`package_resources_dir`."""
    env = os.environ.get("POSEWATCH_RESOURCES")
    return Path(env).expanduser() if env else package_resources_dir()


def default_classifier_path(kind: str = "abnormal") -> Path | None:
    """Path of the shipped default classifier checkpoint of ``kind``.

    Args:
        kind: ``"abnormal"`` (normal/theft/assault/vandalism), ``"fall"`` (upright/falling/lying) or ``"fight"``
            (normal/fight, a scene model).

    Returns:
        The checkpoint path (load it with :func:`core.classify.load_checkpoint` or
        :class:`core.classify.TrackClassifier`), or None when it is not installed.

    Raises:
        ValueError: unknown ``kind`` (the message lists the known ones).
    """
    try:
        name = DEFAULT_CLASSIFIERS[kind]
    except KeyError:
        raise ValueError(f"unknown default classifier '{kind}'; known: {', '.join(DEFAULT_CLASSIFIERS)}") from None
    path = resources_dir() / "models" / name
    return path if path.is_file() else None


def default_model_card(kind: str = "abnormal") -> Path | None:
    """Path of the model card (Markdown) of the default classifier ``kind``, or None if absent.

    Raises:
        ValueError: unknown ``kind``.
    """
    ckpt = default_classifier_path(kind)
    card = resources_dir() / "models" / Path(DEFAULT_CLASSIFIERS[kind]).with_suffix(".md").name
    return card if ckpt is not None and card.is_file() else None


def resolve_classifier(spec: str | os.PathLike) -> Path:
    """A checkpoint path from a user's choice: a shipped default's kind (``"abnormal"``, ``"fall"``, ``"fight"``) or a
    path.

    Raises:
        ModelError: a kind whose checkpoint is not installed, or a path that does not exist.
    """
    from .errors import ModelError

    text = str(spec)
    if text in DEFAULT_CLASSIFIERS:
        path = default_classifier_path(text)
        if path is None:
            raise ModelError(f"the shipped '{text}' classifier is not installed in {resources_dir() / 'models'}")
        return path
    path = Path(text).expanduser()
    if not path.is_file():
        known = ", ".join(DEFAULT_CLASSIFIERS)
        raise ModelError(f"classifier checkpoint not found: {path} (or name a shipped one: {known})")
    return path


def shipped_kind(path: str | os.PathLike) -> str | None:
    """The kind (``"abnormal"``, ``"fall"``) when ``path`` is a shipped default checkpoint, else None."""
    try:
        p = Path(path).resolve()
    except OSError:
        return None
    for kind in DEFAULT_CLASSIFIERS:
        d = default_classifier_path(kind)
        if d is not None and d.resolve() == p:
            return kind
    return None
