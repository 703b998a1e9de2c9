"""PoseWatch's settings: the user-changeable defaults in ``resources/default.yaml`` with their overrides, and
the folders and switches read from the environment.

Layers, later ones winning key by key: the shipped ``default.yaml``; files and ``KEY=VALUE`` settings given to
:func:`activate` (the CLI's ``--config FILE`` and ``--set live.enter_prob=0.7``); the open project's
``posewatch.yaml`` (:func:`use_project`). Every override is checked when it is applied: an unknown key or a
value of the wrong type raises :class:`ConfigError` with one line naming the key and where it came from.

The settings reach the code through this module only:

- dataclasses whose field defaults are a section (:func:`section_defaults`: ``live`` →
  :class:`core.live.LiveConfig`, ``worker`` → :class:`core.remote.server.WorkerConfig`): ``LiveConfig()``
  takes the settings in force when it is made;
- functions for the rest: :func:`presets` (training), :func:`default_taxonomy`, :func:`label_colour`,
  :func:`shortcuts`, :func:`extensions` and :func:`file_filter`, :func:`backoff`, :func:`get`.

Environment variables:

- ``POSEWATCH_MODEL_DIR``: directory searched first for model files (e.g. ``../shared/models``).
- ``POSEWATCH_CACHE_DIR``: root of PoseWatch's per-user cache (downloaded weights, ONNX exports,
  skeleton caches). Default: ``platformdirs.user_cache_dir("posewatch")``.
- ``POSEWATCH_OFFLINE``: if ``1``, never download model files (tests set it).
- ``POSEWATCH_RESOURCES``: another folder of shipped models (see :func:`core.defaults.resources_dir`); the
  default settings always come from PoseWatch's own ``default.yaml`` (:func:`core.defaults.package_resources_dir`).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import os
import threading
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import platformdirs

from .defaults import package_resources_dir
from .errors import PoseWatchError

#: File name of a project's overrides (in the project folder).
PROJECT_FILE = "posewatch.yaml"
#: Name of the shipped defaults in the resources folder.
DEFAULT_FILE = "default.yaml"


class ConfigError(PoseWatchError):
    """A settings file or value is unreadable, unknown or of the wrong type (one line naming the key)."""


# ============================================================================ environment
def cache_root() -> Path:
    """Root directory of the per-user cache; created if missing."""
    root = Path(os.environ.get("POSEWATCH_CACHE_DIR") or platformdirs.user_cache_dir("posewatch"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def model_dirs() -> list[Path]:
    """Directories searched for model files, in order: ``POSEWATCH_MODEL_DIR`` then the download cache."""
    dirs = []
    env = os.environ.get("POSEWATCH_MODEL_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(cache_root() / "models")
    return dirs


def offline() -> bool:
    """True when downloads are disabled (``POSEWATCH_OFFLINE=1``)."""
    return os.environ.get("POSEWATCH_OFFLINE", "0").lower() in ("1", "true", "yes")


# ============================================================================ schema
#: Sections whose keys are the fields of a dataclass: ``"module:Class"`` (imported only when an override of
#: the section must be checked, so reading settings loads no heavy module) and the fields that are not settings.
DATACLASS_SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "live": ("core.live.detector:LiveConfig", ()),
    "worker": ("core.remote.server:WorkerConfig", ("token",)),
}
#: Mappings whose keys are free (any name), by dotted path; everything else takes only the keys of default.yaml.
OPEN_MAPPINGS = ("labels.colours", "labels.model_labels", "training.presets", "worker.classifiers", "training.base.model_config",
                 "training.base.features", "video_training.presets", "video_training.base.model_config",
                 "video_training.base.skeleton", "distill.features", "distill.model_config")

_TRAINING_OPTIONS = {
    "window": "PositiveInt", "stride": "PositiveInt", "epochs": "PositiveInt", "batch_size": "PositiveInt",
    "lr": "PositiveFloat", "weight_decay": "NonNegativeFloat", "patience": "PositiveInt",
    "val_fraction": "Fraction", "chunk_frames": "NonNegativeInt", "augment": "bool", "class_weights": "bool",
    "features": "dict[str, Any]", "time_limit_s": "PositiveFloat | None", "max_train_windows": "PositiveInt | None",
    "model_config": "dict[str, Any]",
}
#: Options of a video (RGB clip) training preset (``video_training``, :mod:`core.rgb.train`).
_VIDEO_TRAINING_OPTIONS = {
    "frames": "PositiveInt", "fps": "PositiveFloat", "size": "list[PositiveInt]", "stride_s": "PositiveFloat",
    "train_stride_s": "PositiveFloat", "windows_per_clip": "PositiveInt", "epochs": "PositiveInt",
    "batch_size": "PositiveInt", "lr": "PositiveFloat", "weight_decay": "NonNegativeFloat", "patience": "PositiveInt",
    "val_fraction": "Fraction", "augment": "bool", "class_weights": "bool", "jitter": "NonNegativeFloat",
    "shift": "NonNegativeInt", "time_limit_s": "PositiveFloat | None", "pretrained": "str | None",
    "init_rgb": "str | None", "model_config": "dict[str, Any]", "skeleton": "dict[str, Any]", "memory_check": "bool",
}
#: Sections of presets (``base`` plus ``presets``): their options, and the options merged key by key.
PRESET_SECTIONS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "training": (_TRAINING_OPTIONS, ("features", "model_config")),
    "video_training": (_VIDEO_TRAINING_OPTIONS, ("model_config", "skeleton")),
}
#: Types of the plain sections (pydantic-style annotations as text, resolved in :func:`_types`), by dotted key.
_PLAIN_TYPES = {
    "labels.taxonomy": "list[TaxonomyEntry]", "labels.colours": "dict[str, Colour]",
    "labels.model_labels": "dict[str, str]",
    "labels.unknown_colour": "Colour", "labels.new_label_palette": "tuple[Colour, ...]",
    "shortcuts.*": "tuple[str, ...]",
    "file_types.*": "tuple[Extension, ...]",
    "file_filters.*": "tuple[tuple[str, tuple[str, ...]], ...]",
    "training.base.*": _TRAINING_OPTIONS, "training.presets": "dict[str, dict[str, Any]]",
    "training.augment.scale": "tuple[PositiveFloat, PositiveFloat]", "training.augment.rotate_deg": "NonNegativeFloat",
    "training.augment.flip_p": "Fraction", "training.augment.dropout_p": "Fraction",
    "reconnect.*": "tuple[PositiveFloat, ...]",
    "remote.url": "str", "remote.poll_interval_s": "PositiveFloat", "remote.request_timeout_s": "PositiveFloat",
    "suggest.*": {"smooth_frames": "PositiveInt", "min_frames": "PositiveInt", "max_gap_frames": "NonNegativeInt",
                  "nudge_frames": "PositiveInt", "stretch_frames": "PositiveInt",
                  "uncertainty": "Literal['entropy', 'margin']", "advance_to_next_video": "bool"},
    "video_training.base.*": _VIDEO_TRAINING_OPTIONS, "video_training.presets": "dict[str, dict[str, Any]]",
    "distill.*": {"alpha": "NonNegativeFloat", "beta": "NonNegativeFloat", "gamma": "NonNegativeFloat",
                  "temperature": "PositiveFloat", "window": "PositiveInt", "fps": "PositiveFloat",
                  "features": "dict[str, Any]", "train_stride_s": "PositiveFloat", "stride_s": "PositiveFloat",
                  "epochs": "PositiveInt", "batch_size": "PositiveInt", "lr": "PositiveFloat",
                  "weight_decay": "NonNegativeFloat", "patience": "PositiveInt", "val_fraction": "Fraction",
                  "augment": "bool", "class_weights": "bool", "time_limit_s": "PositiveFloat | None",
                  "model_config": "dict[str, Any]"},
}


@lru_cache(maxsize=None)
def _types() -> dict[str, Any]:
    """Names usable in the annotations of :data:`_PLAIN_TYPES` (pydantic is imported only when checking)."""
    from typing import Annotated

    from pydantic import ConfigDict, Field
    from typing_extensions import TypedDict

    TaxonomyEntry = TypedDict("TaxonomyEntry", {"name": Annotated[str, Field(min_length=1)], "hotkey": str})
    TaxonomyEntry.__pydantic_config__ = ConfigDict(extra="forbid")

    return {"Any": Any, "Annotated": Annotated, "Literal": typing.Literal, "TaxonomyEntry": TaxonomyEntry,
            "Colour": Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")],
            "Extension": Annotated[str, Field(pattern=r"^\.[a-z0-9]+$")],
            "PositiveInt": Annotated[int, Field(ge=1)], "NonNegativeInt": Annotated[int, Field(ge=0)],
            "PositiveFloat": Annotated[float, Field(gt=0)], "NonNegativeFloat": Annotated[float, Field(ge=0)],
            "Fraction": Annotated[float, Field(ge=0, le=1)]}


@lru_cache(maxsize=None)
def _adapter(annotation: Any):
    from pydantic import TypeAdapter

    if isinstance(annotation, str):
        annotation = eval(annotation, {**_types(), "tuple": tuple, "dict": dict, "list": list})  # noqa: S307 - our own text
    return TypeAdapter(annotation)


def _is_tuple(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith("tuple")
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_is_tuple(a) for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) is tuple


def _as_tuples(value: Any) -> Any:
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value


def _check_value(key: str, value: Any, annotation: Any, source: str) -> Any:
    """``value`` converted to ``annotation`` (YAML lists become tuples where a tuple is wanted).

    Raises:
        ConfigError: naming ``key``, the value and ``source``.
    """
    from pydantic import ValidationError

    try:
        return _adapter(annotation).validate_python(value)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        shown = err.get("input", value) if where else value
        raise ConfigError(f"bad setting {key}{'[' + where + ']' if where else ''} = {shown!r} ({source}): "
                          f"{err['msg']}") from None


@lru_cache(maxsize=None)
def _dataclass_types(section: str) -> dict[str, Any]:
    target, skip = DATACLASS_SECTIONS[section]
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name not in skip}


def _annotation(key: str) -> Any:
    """The annotation of dotted ``key`` (None: a mapping checked key by key).

    Raises:
        ConfigError: a key that is no setting.
    """
    section, _, rest = key.partition(".")
    if section in DATACLASS_SECTIONS:
        types = _dataclass_types(section)
        if rest and rest not in types:
            raise ConfigError(f"unknown setting {key}; known: {', '.join(f'{section}.{k}' for k in types)}")
        return types[rest] if rest else None
    if section in PRESET_SECTIONS and rest.startswith("presets"):
        options = PRESET_SECTIONS[section][0]
        if key.count(".") >= 3:
            opt = key.split(".", 3)[3]
            if opt not in options:
                raise ConfigError(f"unknown setting {key}; known: {', '.join(options)}")
            return options[opt]
        return None
    if key in _PLAIN_TYPES:
        return _PLAIN_TYPES[key]
    parent = key.rpartition(".")[0]
    star = _PLAIN_TYPES.get(parent + ".*")
    if isinstance(star, dict):
        return star.get(key.rpartition(".")[2])
    return star


# ============================================================================ loading and merging
def read_yaml(path: str | os.PathLike) -> dict:
    """A settings file as a dict (an empty file: ``{}``).

    Raises:
        ConfigError: missing or unreadable file, not YAML, or not a mapping at the top.
    """
    import yaml

    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"settings file not found: {p}") from None
    except OSError as e:
        raise ConfigError(f"cannot read settings file {p}: {e.strerror or e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{p} is not valid YAML{at}: {getattr(e, 'problem', None) or e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: settings must be a mapping of sections (live:, training:, …), not {type(data).__name__}")
    return data


@lru_cache(maxsize=1)
def _shipped() -> dict:
    path = package_resources_dir() / DEFAULT_FILE
    if not path.is_file():
        raise ConfigError(f"the default settings are not installed: {path}")
    return read_yaml(path)


def defaults() -> dict:
    """The shipped ``resources/default.yaml`` (a deep copy)."""
    return copy.deepcopy(_shipped())


def _is_open(key: str) -> bool:
    return key in OPEN_MAPPINGS or any(key.startswith(f"{s}.presets.") and key.count(".") >= 2
                                       for s in PRESET_SECTIONS)


def _merge(base: dict, over: dict, source: str, prefix: str = "") -> dict:
    """``over`` merged into a copy of ``base`` key by key; unknown keys (outside open mappings) are refused."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        key = f"{prefix}{k}"
        if not isinstance(k, str):
            raise ConfigError(f"bad setting key {key!r} ({source}): keys are names")
        if k not in base and not _is_open(prefix.rstrip(".")):
            known = ", ".join(str(x) for x in base) if isinstance(base, dict) else ""
            raise ConfigError(f"unknown setting {key} ({source})" + (f"; known here: {known}" if known else ""))
        if isinstance(v, dict) and isinstance(base.get(k), dict) and v is not None:
            out[k] = _merge(base[k], v, source, key + ".")
        elif isinstance(base.get(k), dict) and not _is_open(key) and v is not None:
            raise ConfigError(f"bad setting {key} = {v!r} ({source}): expected a mapping of settings")
        else:
            out[k] = copy.deepcopy(v)
    return out


def _check(tree: dict, over: dict, source: str, prefix: str = "") -> None:
    """Type-check every value of ``over`` (as merged into ``tree``), by its dotted key."""
    for k, v in over.items():
        key = f"{prefix}{k}"
        ann = _annotation(key)
        try:
            ann = _annotation(key)
        except ConfigError as e:
            raise ConfigError(f"{e} ({source})") from None
        if ann is None:
            if not isinstance(v, dict):
                raise ConfigError(f"bad setting {key} = {v!r} ({source}): expected a mapping of settings")
            _check(tree[k], v, source, key + ".")
            continue
        _check_value(key, v, ann, source)


def parse_set(text: str) -> tuple[str, Any]:
    """``"live.enter_prob=0.7"`` → ``("live.enter_prob", 0.7)`` (the value is read as YAML: numbers, true/false,
    null, lists ``[a, b]``; anything else stays text).

    Raises:
        ConfigError: no ``=`` or no key.
    """
    import yaml

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set needs KEY=VALUE like live.enter_prob=0.7, got '{text}'")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key, value


def _nest(key: str, value: Any) -> dict:
    out: Any = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


# ============================================================================ the settings in force
class _State:
    def __init__(self):
        self.lock = threading.RLock()
        self.layers: list[tuple[str, dict]] = []  # (source, overrides): files and --set
        self.project: tuple[str, dict] | None = None
        self.tree: dict | None = None  # merged, unchecked sections lazily checked
        self.checked: dict[str, dict] = {}
        self.generation = 0


_state = _State()


def _build(layers: list[tuple[str, dict]]) -> dict:
    tree = defaults()
    for source, over in layers:
        tree = _merge(tree, over, source)
        _check(tree, over, source)
    return tree


def activate(files: Iterable[str | os.PathLike] = (), sets: Iterable[str] = ()) -> dict:
    """Put the overrides of ``files`` (YAML, in order) and ``sets`` (``KEY=VALUE``, after the files) in force,
    replacing earlier ones (the project layer of :func:`use_project` stays). Returns the merged settings.

    Raises:
        ConfigError: an unreadable file, an unknown key or a bad value (nothing changes then).
    """
    layers = [(f"in {Path(f)}", read_yaml(f)) for f in files]
    for s in sets:
        key, value = parse_set(s)
        layers.append((f"from --set {key}", _nest(key, value)))
    with _state.lock:
        project = [_state.project] if _state.project else []
    tree = _build(layers + project)  # outside the lock: checking may import the module of a section
    with _state.lock:
        _state.layers, _state.tree, _state.checked = layers, tree, {}
        _state.generation += 1
    return copy.deepcopy(tree)


def use_project(folder: str | os.PathLike | None) -> dict:
    """Put a project's ``posewatch.yaml`` in force over the other layers (None or a folder without one: no
    project layer). Returns the merged settings.

    Raises:
        ConfigError: the project's file is unreadable or holds an unknown key or a bad value (the previous
            settings stay in force).
    """
    layer = None
    if folder is not None and (Path(folder) / PROJECT_FILE).is_file():
        path = Path(folder) / PROJECT_FILE
        layer = (f"in {path}", read_yaml(path))
    with _state.lock:
        layers = list(_state.layers)
    tree = _build(layers + ([layer] if layer else []))
    with _state.lock:
        _state.project, _state.tree, _state.checked = layer, tree, {}
        _state.generation += 1
    return copy.deepcopy(tree)


def reset() -> None:
    """Back to the shipped defaults (no file, --set or project layer)."""
    with _state.lock:
        _state.layers, _state.project, _state.tree, _state.checked = [], None, None, {}
        _state.generation += 1


def _tree() -> dict:
    with _state.lock:
        if _state.tree is None:
            _state.tree = defaults()
        return _state.tree


def settings() -> dict:
    """All settings in force (a deep copy; YAML types: lists, not tuples)."""
    return copy.deepcopy(_tree())


def get(key: str) -> Any:
    """The value in force of dotted ``key`` (e.g. ``"remote.url"``), checked and converted to its type.

    Raises:
        ConfigError: unknown key.
    """
    node: Any = _tree()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"unknown setting {key}")
        node = node[part]
    ann = _annotation(key)
    if ann is None:
        return copy.deepcopy(node)
    with _state.lock:
        trusted = not _state.layers and _state.project is None
    if trusted:  # the shipped file, checked by the tests: only the lists that are tuples change (no pydantic)
        return _as_tuples(copy.deepcopy(node)) if _is_tuple(ann) else copy.deepcopy(node)
    return _check_value(key, copy.deepcopy(node), ann, "in force")


def section(name: str) -> dict:
    """Section ``name`` in force, every value checked and converted (tuples where the type says so)."""
    with _state.lock:
        cached = _state.checked.get(name)
    if cached is not None:
        return copy.deepcopy(cached)
    raw = _tree().get(name)
    if not isinstance(raw, dict):
        raise ConfigError(f"unknown settings section {name}")
    out = {k: get(f"{name}.{k}") for k in raw}
    with _state.lock:
        _state.checked[name] = out
    return copy.deepcopy(out)


def _section_value(name: str, key: str) -> Any:
    with _state.lock:
        cached = _state.checked.get(name)
    if cached is None:
        return section(name)[key]
    return copy.deepcopy(cached[key])


def section_defaults(name: str, required: tuple[str, ...] = ()):
    """Class decorator, written under ``@dataclass`` (so it runs first), making every field's default the value
    of ``<name>.<field>`` in force when an instance is made::

        @dataclass
        @config.section_defaults("live")
        class LiveConfig:
            width: int | None
            …

    Fields in ``required`` have no default (they must be given); every other field must have its value in the
    section and none in the class body (one place for each default).

    Raises:
        ConfigError: a field without a value in the section, a field with a default in the code, or a key of the
            section that is no field (at class creation: the shipped files and the code disagree).
    """
    def wrap(cls):
        shipped = _shipped().get(name, {})
        fields = [f for f in cls.__annotations__ if not f.startswith("_")]
        for f in fields:
            if f in required:
                continue
            if f in cls.__dict__:
                raise ConfigError(f"{cls.__name__}.{f} has a default in the code; it belongs in {DEFAULT_FILE} "
                                  f"({name}.{f})")
            if f not in shipped:
                raise ConfigError(f"{cls.__name__}.{f} has no default: add {name}.{f} to {DEFAULT_FILE}")
            setattr(cls, f, dataclasses.field(default_factory=lambda key=f: _section_value(name, key)))
        extra = set(shipped) - set(fields)
        if extra:
            raise ConfigError(f"{DEFAULT_FILE} sets {', '.join(f'{name}.{k}' for k in sorted(extra))}, "
                              f"which {cls.__name__} does not have")
        return cls

    return wrap


# ============================================================================ typed views
def presets(section: str = "training") -> dict[str, dict]:
    """The training presets in force: each is ``<section>.base`` with the preset's entries replacing base's
    (``features`` and ``model_config``; for ``video_training`` ``model_config`` and ``skeleton``: merged key by
    key). JSON-able dicts.

    Args:
        section: ``training`` (skeleton classifiers) or ``video_training`` (RGB clip models, :mod:`core.rgb.train`).
    """
    merged = PRESET_SECTIONS[section][1]
    t = _tree()[section]
    base = t["base"]
    out = {}
    for name, over in t["presets"].items():
        p = copy.deepcopy(base)
        for k, v in (over or {}).items():
            p[k] = {**p[k], **v} if k in merged and isinstance(v, dict) else copy.deepcopy(v)
        out[name] = p
    return out


def augment() -> dict:
    """Training augmentation in force: ``scale`` (lo, hi) per axis, ``rotate_deg``, ``flip_p``, ``dropout_p``."""
    a = section("training")["augment"]
    return {"scale": tuple(get("training.augment.scale")), **{k: float(v) for k, v in a.items() if k != "scale"}}


def shortcuts() -> dict[str, tuple[str, ...]]:
    """Keyboard shortcuts in force by action name (Qt key sequence texts)."""
    return section("shortcuts")


def model_label(name: str, taxonomy) -> str | None:
    """The project label a model's class ``name`` stands for: ``name`` itself when the taxonomy (label names) has it,
    else its ``labels.model_labels`` entry when the taxonomy has that, else None."""
    names = set(taxonomy)
    if name in names:
        return name
    mapped = section("labels")["model_labels"].get(name)
    return mapped if mapped in names else None


def label_colour(name: str) -> str:
    """The colour (``#rrggbb``) of label ``name``: ``labels.colours``, else ``labels.unknown_colour``."""
    labels = section("labels")
    return labels["colours"].get(name, labels["unknown_colour"])


def default_taxonomy() -> tuple[tuple[str, str, str], ...]:
    """A new project's labels in force: ``(name, colour, hotkey)`` in class-index order."""
    return tuple((e["name"], label_colour(e["name"]), e["hotkey"]) for e in section("labels")["taxonomy"])


def extensions(kind: str) -> tuple[str, ...]:
    """File extensions of ``kind`` (``video``, ``image``, ``checkpoint``, …; lower case, with the dot).

    Raises:
        ConfigError: unknown kind.
    """
    types = section("file_types")
    if kind not in types:
        raise ConfigError(f"unknown file type '{kind}'; known: {', '.join(types)}")
    return types[kind]


def file_filter(name: str) -> str:
    """A file dialog's filter (Qt syntax), e.g. ``"Videos (*.mp4 *.avi …);;All files (*)"``.

    Raises:
        ConfigError: unknown filter name, or a kind it lists that is no file type.
    """
    filters = section("file_filters")
    if name not in filters:
        raise ConfigError(f"unknown file filter '{name}'; known: {', '.join(filters)}")
    parts = [f"{title} (" + " ".join(f"*{e}" for kind in kinds for e in extensions(kind)) + ")"
             for title, kinds in filters[name]]
    return ";;".join(parts + ["All files (*)"])


def backoff(kind: str) -> tuple[float, ...]:
    """Reconnection back-off in seconds: ``"source"`` (a lost camera or stream) or ``"worker"`` (a lost remote
    worker): the n-th failure in a row waits ``out[min(n, len - 1)]``; ``"webhook"`` (the waits before the retries
    of one alert notification, then it is given up) and ``"mqtt"`` (an MQTT broker's reconnects: from the first value
    doubling up to the last).

    Raises:
        ConfigError: unknown kind.
    """
    r = section("reconnect")
    key = f"{kind}_backoff_s"
    if key not in r:
        raise ConfigError(f"unknown back-off '{kind}'; known: "
                          + ", ".join(k[: -len("_backoff_s")] for k in r if k.endswith("_backoff_s")))
    return r[key]
