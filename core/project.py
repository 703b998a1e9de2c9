"""The labelling project: one folder with one SQLite database plus the skeleton caches.

Layout of a project folder::

    PROJECT/
      project.sqlite        videos, label taxonomy, clips, track and keypoint edits (WAL mode, schema
                            version in user_version)
      skeletons/            skeleton caches of the project's videos and imported sequences

Every edit is committed at once (one transaction per call, ``synchronous=FULL``), so killing the
process at any moment loses no edit that a call has returned from. Frame ranges are 0-based with an
inclusive end, the one convention used everywhere in PoseWatch.

A database written by a newer PoseWatch (a higher schema version) is refused; older ones are
migrated forward in place.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import config
from .errors import PoseWatchError
from .project_edits import EDITS_SCHEMA, ProjectEditsMixin

DB_NAME = "project.sqlite"
SKELETON_DIR = "skeletons"
SCHEMA_VERSION = 2

#: Default taxonomy as shipped: (name, colour, hotkey) from ``labels`` in ``resources/default.yaml``. "normal" is
#: what the seed data called random clips. New projects take the taxonomy in force (:func:`core.config.default_taxonomy`).
DEFAULT_TAXONOMY: tuple[tuple[str, str, str], ...] = config.default_taxonomy()

VIDEO_KINDS = ("video", "skeletons")


class ProjectError(PoseWatchError):
    """A project cannot be opened, or an edit is invalid (message says why, in one line)."""


def check_new_project_folder(folder: str | os.PathLike) -> Path:
    """``folder`` (absolute) if a new project may be made there: it does not exist yet, or it is an empty folder.

    Raises:
        ProjectError: a project is already there, it is a file, or it holds other files (one line saying so).
    """
    folder = Path(folder).expanduser().resolve()
    if (folder / DB_NAME).exists():
        raise ProjectError(f"a project already exists in {folder}: open it (File → Open project…)")
    if folder.exists():
        if not folder.is_dir():
            raise ProjectError(f"{folder} is a file: a new project needs an empty or new folder")
        try:
            entries = next(os.scandir(folder), None)
        except OSError as e:
            raise ProjectError(f"cannot read {folder}: {e.strerror or e}") from None
        if entries is not None:
            raise ProjectError(f"{folder} is not empty: a new project needs an empty or new folder")
    return folder


def frame_iou(a_start: int, a_end: int, b_start: int, b_end: int) -> float:
    """Intersection over union of two frame ranges (inclusive ends): shared frames / frames in either, in [0, 1]."""
    inter = max(0, min(a_end, b_end) - max(a_start, b_start) + 1)
    return inter / ((a_end - a_start + 1) + (b_end - b_start + 1) - inter)


@dataclass(frozen=True)
class Video:
    """A video (or an imported skeleton sequence) in a project.

    Attributes:
        id: database id.
        path: file path as last seen (absolute).
        hash: content hash (:func:`core.cache.video_key`), used to relink a moved file.
        fps: frames per second.
        frame_count: number of frames.
        width, height: frame size in pixels (0 for imported skeletons without a known frame size).
        kind: ``"video"`` (a real video file or frames folder) or ``"skeletons"`` (an imported
            skeleton sequence: no pixels, only the skeleton cache).
        name: display name.
    """

    id: int
    path: str
    hash: str
    fps: float
    frame_count: int
    width: int
    height: int
    kind: str = "video"
    name: str = ""


@dataclass(frozen=True)
class Label:
    """A class of the taxonomy: ``name``, display ``colour`` (``#rrggbb``), ``hotkey`` (one key or
    empty) and ``position`` (its class index in exports: labels are numbered by position)."""

    id: int
    name: str
    colour: str
    hotkey: str
    position: int


@dataclass(frozen=True)
class Crop:
    """A spatial crop of a clip.

    Either a fixed rectangle ``rect = (x1, y1, x2, y2)`` in pixels (``kind="rect"``), or
    ``kind="track"``: follow the clip's track with ``margin`` (fraction of the box size added on each
    side; the box is smoothed over time when exported).
    """

    kind: str
    rect: tuple[float, float, float, float] | None = None
    margin: float = 0.2


@dataclass(frozen=True)
class Clip:
    """A labelled clip: frames ``start..end`` (inclusive, 0-based) of a video.

    Attributes:
        id: database id.
        video_id: the video it belongs to.
        start, end: first and last frame, inclusive.
        label: label name (in the taxonomy).
        track_id: the person it belongs to, or None for the whole frame.
        crop: optional :class:`Crop`.
        annotator: who made it.
        note: free text.
        created, modified: UNIX times in seconds.
    """

    id: int
    video_id: int
    start: int
    end: int
    label: str
    track_id: int | None = None
    crop: Crop | None = None
    annotator: str = ""
    note: str = ""
    created: float = field(default=0.0, compare=False)
    modified: float = field(default=0.0, compare=False)

    @property
    def length(self) -> int:
        """Number of frames."""
        return self.end - self.start + 1

    def moved_to(self, track_id: int | None, modified: float) -> "Clip":
        """This clip on another track (what a track edit changes): ``dataclasses.replace`` without its per-call
        field introspection (~4x faster; a track split moves hundreds of clips, ``bench/project_scale.py``)."""
        return Clip(self.id, self.video_id, self.start, self.end, self.label, track_id, self.crop, self.annotator,
                    self.note, self.created, modified)


_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, fps REAL NOT NULL,
    frame_count INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'video', name TEXT NOT NULL DEFAULT '', added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, colour TEXT NOT NULL, hotkey TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clips (
    id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    start_frame INTEGER NOT NULL, end_frame INTEGER NOT NULL,
    label_id INTEGER NOT NULL REFERENCES labels(id), track_id INTEGER,
    crop_kind TEXT, crop_x1 REAL, crop_y1 REAL, crop_x2 REAL, crop_y2 REAL, crop_margin REAL,
    annotator TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL, modified REAL NOT NULL,
    CHECK (start_frame >= 0 AND end_frame >= start_frame));
CREATE INDEX IF NOT EXISTS clips_video_start ON clips(video_id, start_frame);
CREATE INDEX IF NOT EXISTS clips_video_end ON clips(video_id, end_frame);
"""

#: ``MIGRATIONS[v]`` upgrades a database from schema ``v`` to ``v + 1``.
MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1}
# ---- issue 12, track and keypoint edits: schema 1 -> 2 (core/project_edits.py) ----
MIGRATIONS[1] = EDITS_SCHEMA

# ---------------------------------------------------------------- model-assisted labelling (issue 12)
#: Tables of model suggestions (see core/suggest.py), created when missing whatever the schema version.
#: ``suggestion_probs.track_id`` is -1 for the whole frame (a scene model); ``suggestions.track_id`` NULL.
#: ``suggestion_sets.skeletons``/``track_edits``: the skeleton key and the track edits (JSON ``[kind, track, other,
#: frame]`` list) of the tracks the model judged; the track edits made since are applied when the set is read.
_SCHEMA_SUGGEST = """
CREATE TABLE IF NOT EXISTS suggestion_sets (
    id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    model_hash TEXT NOT NULL, model_name TEXT NOT NULL, label_names TEXT NOT NULL, created REAL NOT NULL,
    skeletons TEXT NOT NULL DEFAULT '', track_edits TEXT NOT NULL DEFAULT '[]',
    UNIQUE (video_id, model_hash));
CREATE TABLE IF NOT EXISTS suggestion_probs (
    set_id INTEGER NOT NULL REFERENCES suggestion_sets(id) ON DELETE CASCADE, track_id INTEGER NOT NULL,
    frames BLOB NOT NULL, probs BLOB NOT NULL, PRIMARY KEY (set_id, track_id));
CREATE TABLE IF NOT EXISTS suggestions (
    id INTEGER PRIMARY KEY, set_id INTEGER NOT NULL REFERENCES suggestion_sets(id) ON DELETE CASCADE,
    track_id INTEGER, start_frame INTEGER NOT NULL, end_frame INTEGER NOT NULL, label TEXT NOT NULL,
    prob REAL NOT NULL, status TEXT NOT NULL DEFAULT 'open', clip_id INTEGER, modified REAL NOT NULL,
    CHECK (start_frame >= 0 AND end_frame >= start_frame));
CREATE INDEX IF NOT EXISTS suggestions_set ON suggestions(set_id, start_frame);
CREATE TABLE IF NOT EXISTS clip_provenance (
    clip_id INTEGER PRIMARY KEY, suggestion_id INTEGER, model_name TEXT NOT NULL, model_hash TEXT NOT NULL,
    prob REAL NOT NULL);
"""

#: ``open``: not reviewed; ``accepted``: became a clip (``clip_id``); ``rejected``: reviewed and refused
#: (``clip_id``: the "normal" hard-negative clip made from it, if any).
SUGGESTION_STATUSES = ("open", "accepted", "rejected")

_SUGGESTION_COLS = ("s.id, t.video_id, t.model_hash, t.model_name, s.track_id, s.start_frame, s.end_frame, s.label, "
                    "s.prob, s.status, s.clip_id")


@dataclass(frozen=True)
class SuggestionSet:
    """One model's suggestions for one video: ``model_hash`` (SHA-256 hex of the checkpoint file),
    ``model_name``, ``label_names`` (its classes), ``created`` (UNIX seconds).

    The tracks it judged: ``skeletons`` (:func:`core.track_edits.skeleton_key`, "" for a set stored before
    this was recorded) with the track edits ``judged_edits`` in effect. ``later_edits``: the video's track edits
    made since, which :meth:`Project.suggestions` and :meth:`Project.suggestion_probs` apply to its track IDs
    (a suggestion on #9 shows on #5 after "merge #9 into #5"). ``stale``: an edit it was judged with has been
    taken back (its tracks no longer exist as judged; compute it again)."""

    id: int
    video_id: int
    model_hash: str
    model_name: str
    label_names: list
    created: float = 0.0
    skeletons: str = ""
    judged_edits: tuple = ()
    later_edits: tuple = ()
    stale: bool = False


@dataclass(frozen=True)
class Suggestion:
    """A clip proposed by a model: frames ``start..end`` (inclusive) of ``track_id`` (None: whole frame) with
    ``label`` and mean probability ``prob`` in [0, 1], from the model ``model_name`` / ``model_hash``;
    ``status`` one of :data:`SUGGESTION_STATUSES`; ``clip_id`` the clip made from it (or None)."""

    id: int
    video_id: int
    model_hash: str
    model_name: str
    track_id: int | None
    start: int
    end: int
    label: str
    prob: float
    status: str = "open"
    clip_id: int | None = None

    @property
    def length(self) -> int:
        """Number of frames."""
        return self.end - self.start + 1


_CLIP_COLS = ("c.id, c.video_id, c.start_frame, c.end_frame, l.name, c.track_id, c.crop_kind, c.crop_x1, c.crop_y1, "
              "c.crop_x2, c.crop_y2, c.crop_margin, c.annotator, c.note, c.created, c.modified")


def _clip_from_row(r) -> Clip:
    crop = None
    if r[6]:
        rect = None if r[7] is None else (r[7], r[8], r[9], r[10])
        crop = Crop(r[6], rect, r[11] if r[11] is not None else 0.2)
    return Clip(r[0], r[1], r[2], r[3], r[4], r[5], crop, r[12], r[13], r[14], r[15])


class Project(ProjectEditsMixin):
    """An open labelling project. Create with :meth:`create`, :meth:`open` or :meth:`open_or_create`.

    Every mutating method validates its input, writes the database in one transaction and returns
    only after the commit. Invalid edits raise :class:`ProjectError` and change nothing.
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection):
        self.folder = folder
        self._conn = conn
        self._in_batch = False

    # ------------------------------------------------------------------ opening
    @staticmethod
    def _connect(db: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
        except sqlite3.DatabaseError as e:
            raise ProjectError(f"{db} is not a PoseWatch project database: {e}") from None
        return conn

    @classmethod
    def create(cls, folder: str | os.PathLike, taxonomy=None) -> "Project":
        """Create a new project in ``folder`` with ``taxonomy`` (``(name, colour, hotkey)`` in class order;
        default: :func:`core.config.default_taxonomy`). ``folder`` must be new (it is created) or empty: a
        project never writes its database among other files.

        Raises:
            ProjectError: a project already exists there, the folder holds other files, it is a file, or it
                cannot be created.
        """
        folder = Path(folder).expanduser().resolve()
        if (folder / DB_NAME).exists():
            raise ProjectError(f"a project already exists in {folder}")
        check_new_project_folder(folder)
        if taxonomy is None:
            taxonomy = config.default_taxonomy()
        try:
            (folder / SKELETON_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProjectError(f"cannot create project folder {folder}: {e.strerror or e}") from None
        proj = cls(folder, cls._connect(folder / DB_NAME))
        proj._migrate()
        with proj._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES ('created', ?)", (str(time.time()),))
            for i, (name, colour, hotkey) in enumerate(taxonomy):
                c.execute("INSERT INTO labels (name, colour, hotkey, position) VALUES (?, ?, ?, ?)",
                          (name, colour, hotkey, i))
        return proj

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "Project":
        """Open an existing project, migrating an older schema forward.

        Raises:
            ProjectError: no project there, not a database, or written by a newer schema.
        """
        folder = Path(folder).expanduser().resolve()
        db = folder / DB_NAME
        if not db.is_file():
            raise ProjectError(f"no PoseWatch project in {folder} (missing {DB_NAME})")
        proj = cls(folder, cls._connect(db))
        try:
            proj._migrate()
        except ProjectError:
            proj.close()
            raise
        (folder / SKELETON_DIR).mkdir(exist_ok=True)
        return proj

    @classmethod
    def open_or_create(cls, folder: str | os.PathLike) -> "Project":
        """Open the project in ``folder``, creating it (default taxonomy) if there is none."""
        folder = Path(folder).expanduser()
        return cls.open(folder) if (folder / DB_NAME).is_file() else cls.create(folder)

    def _migrate(self) -> None:
        try:
            v = self._conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise ProjectError(f"{self.db_path} is not a PoseWatch project database: {e}") from None
        if v > SCHEMA_VERSION:
            raise ProjectError(f"{self.db_path} was written by a newer PoseWatch (schema {v}; this version "
                               f"reads up to {SCHEMA_VERSION}): update PoseWatch to open it")
        while v < SCHEMA_VERSION:
            with self._tx() as c:
                for stmt in MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute(f"PRAGMA user_version={v + 1}")
            v += 1
        self._ensure_suggestion_tables()

    def _tx(self):
        return _Savepoint(self._conn) if self._in_batch else _Transaction(self._conn)

    @contextlib.contextmanager
    def batch(self):
        """Make every edit inside the ``with`` block part of one transaction: all are committed when
        the block ends, none if it raises (used by imports, so a failed file leaves nothing behind).
        Nested blocks join the outer one.

        Raises:
            ProjectError: the database is locked or read-only.
        """
        if self._in_batch:
            yield self
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise ProjectError(f"cannot write the project database {self.db_path}: {e}") from None
        self._in_batch = True
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")
        finally:
            self._in_batch = False

    def close(self) -> None:
        """Close the database (every edit is already committed)."""
        self._conn.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def db_path(self) -> Path:
        """Path of the SQLite file."""
        return self.folder / DB_NAME

    @property
    def skeleton_dir(self) -> Path:
        """Folder of the project's skeleton caches (pass as ``root`` to :mod:`core.extract`)."""
        return self.folder / SKELETON_DIR

    @property
    def schema_version(self) -> int:
        """The database's schema version."""
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    # ------------------------------------------------------------------ videos
    def add_video(self, path: str | os.PathLike) -> Video:
        """Add a video file or frames folder (or return it if its content is already in the project,
        updating the stored path if it moved).

        Raises:
            VideoError: unreadable video.
        """
        from .cache import video_key
        from .video import open_source

        path = str(Path(path).expanduser().resolve())
        with open_source(path) as src:
            info = src.info
        key = video_key(path)
        existing = self.video_by_hash(key)
        if existing is not None:
            if existing.path != path:
                with self._tx() as c:
                    c.execute("UPDATE videos SET path=? WHERE id=?", (path, existing.id))
                existing = replace(existing, path=path)
            return existing
        return self._insert_video(path, key, info.fps, info.frame_count or 0, info.width, info.height, "video",
                                  Path(path).name)

    def add_skeleton_sequence(self, source: str, key: str, fps: float, frame_count: int, name: str,
                              width: int = 0, height: int = 0) -> Video:
        """Register an imported skeleton sequence (no video pixels) under content key ``key``.

        Returns the existing entry if ``key`` is already present.
        """
        existing = self.video_by_hash(key)
        if existing is not None:
            return existing
        return self._insert_video(source, key, fps, frame_count, width, height, "skeletons", name)

    def _insert_video(self, path, key, fps, frame_count, width, height, kind, name) -> Video:
        if frame_count <= 0:
            raise ProjectError(f"{name}: a video needs at least one frame")
        with self._tx() as c:
            cur = c.execute("INSERT INTO videos (path, hash, fps, frame_count, width, height, kind, name, added) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (path, key, float(fps), int(frame_count), int(width), int(height), kind, name, time.time()))
        return Video(cur.lastrowid, path, key, float(fps), int(frame_count), int(width), int(height), kind, name)

    def videos(self) -> list[Video]:
        """All videos and imported sequences, in the order they were added."""
        rows = self._conn.execute("SELECT id, path, hash, fps, frame_count, width, height, kind, name "
                                  "FROM videos ORDER BY id").fetchall()
        return [Video(*r) for r in rows]

    def video(self, video_id: int) -> Video:
        """The video with ``video_id``. Raises ProjectError if absent."""
        r = self._conn.execute("SELECT id, path, hash, fps, frame_count, width, height, kind, name FROM videos "
                               "WHERE id=?", (video_id,)).fetchone()
        if r is None:
            raise ProjectError(f"no video with id {video_id} in this project")
        return Video(*r)

    def video_by_hash(self, key: str) -> Video | None:
        """The video whose content hash is ``key``, or None."""
        r = self._conn.execute("SELECT id, path, hash, fps, frame_count, width, height, kind, name FROM videos "
                               "WHERE hash=?", (key,)).fetchone()
        return Video(*r) if r else None

    def missing_videos(self) -> list[Video]:
        """Videos (kind ``video``) whose stored path no longer exists."""
        return [v for v in self.videos() if v.kind == "video" and not Path(v.path).exists()]

    def relink(self, search_dirs: list[str | os.PathLike]) -> dict[int, str]:
        """Find moved videos by content hash under ``search_dirs`` (recursively) and update their paths.

        Returns:
            ``{video_id: new_path}`` for every video relinked.
        """
        from .cache import video_key
        from .video import VIDEO_EXTENSIONS

        missing = {v.hash: v for v in self.missing_videos()}
        found: dict[int, str] = {}
        for d in search_dirs:
            for root, _dirs, files in os.walk(d):
                for f in files:
                    if not missing or not f.lower().endswith(VIDEO_EXTENSIONS):
                        continue
                    p = os.path.join(root, f)
                    try:
                        k = video_key(p)
                    except OSError:
                        continue
                    if k in missing:
                        v = missing.pop(k)
                        with self._tx() as c:
                            c.execute("UPDATE videos SET path=? WHERE id=?", (str(Path(p).resolve()), v.id))
                        found[v.id] = str(Path(p).resolve())
        return found

    # ------------------------------------------------------------------ taxonomy
    def labels(self) -> list[Label]:
        """The taxonomy, ordered by position (= class index in exports)."""
        rows = self._conn.execute("SELECT id, name, colour, hotkey, position FROM labels ORDER BY position").fetchall()
        return [Label(*r) for r in rows]

    def label_names(self) -> list[str]:
        """Label names by position."""
        return [lab.name for lab in self.labels()]

    def _label_id(self, name: str) -> int:
        r = self._conn.execute("SELECT id FROM labels WHERE name=?", (name,)).fetchone()
        if r is None:
            raise ProjectError(f"label '{name}' is not in the taxonomy ({', '.join(self.label_names())})")
        return r[0]

    def add_label(self, name: str, colour: str = "#888888", hotkey: str = "") -> Label:
        """Append a label to the taxonomy.

        Raises:
            ProjectError: empty or duplicate name, or a hotkey already in use.
        """
        name = name.strip()
        if not name:
            raise ProjectError("a label needs a name")
        if name in self.label_names():
            raise ProjectError(f"label '{name}' already exists")
        self._check_hotkey(hotkey, None)
        pos = len(self.labels())
        with self._tx() as c:
            cur = c.execute("INSERT INTO labels (name, colour, hotkey, position) VALUES (?, ?, ?, ?)",
                            (name, colour, hotkey, pos))
        return Label(cur.lastrowid, name, colour, hotkey, pos)

    def _check_hotkey(self, hotkey: str, label_id: int | None) -> None:
        if hotkey and any(lab.hotkey == hotkey and lab.id != label_id for lab in self.labels()):
            raise ProjectError(f"hotkey '{hotkey}' is already used by another label")

    def update_label(self, name: str, new_name: str | None = None, colour: str | None = None,
                     hotkey: str | None = None) -> Label:
        """Rename a label or change its colour or hotkey (clips follow a rename).

        Raises:
            ProjectError: unknown label, duplicate name or hotkey.
        """
        lid = self._label_id(name)
        lab = next(lab for lab in self.labels() if lab.id == lid)
        if new_name is not None and new_name != name:
            new_name = new_name.strip()
            if not new_name or new_name in self.label_names():
                raise ProjectError(f"cannot rename '{name}' to '{new_name}': empty or already used")
        if hotkey is not None:
            self._check_hotkey(hotkey, lid)
        new = replace(lab, name=new_name or lab.name, colour=colour or lab.colour,
                      hotkey=lab.hotkey if hotkey is None else hotkey)
        with self._tx() as c:
            c.execute("UPDATE labels SET name=?, colour=?, hotkey=? WHERE id=?", (new.name, new.colour, new.hotkey, lid))
        return new

    def remove_label(self, name: str) -> None:
        """Remove an unused label (positions of the later labels move up).

        Raises:
            ProjectError: unknown label, or clips still use it.
        """
        lid = self._label_id(name)
        n = self._conn.execute("SELECT COUNT(*) FROM clips WHERE label_id=?", (lid,)).fetchone()[0]
        if n:
            raise ProjectError(f"label '{name}' is used by {n} clip(s); relabel or delete them first")
        with self._tx() as c:
            c.execute("DELETE FROM labels WHERE id=?", (lid,))
            for i, (rid,) in enumerate(c.execute("SELECT id FROM labels ORDER BY position").fetchall()):
                c.execute("UPDATE labels SET position=? WHERE id=?", (i, rid))

    def restore_label(self, label: Label) -> Label:
        """Put back a removed label at its former position (the labels after it move down one, so
        every class index is as before the removal): the undo of :meth:`remove_label`.

        Raises:
            ProjectError: the name or hotkey is taken meanwhile.
        """
        if label.name in self.label_names():
            raise ProjectError(f"label '{label.name}' already exists")
        self._check_hotkey(label.hotkey, None)
        pos = min(max(0, label.position), len(self.labels()))
        with self._tx() as c:
            c.execute("UPDATE labels SET position = position + 1 WHERE position >= ?", (pos,))
            cur = c.execute("INSERT INTO labels (name, colour, hotkey, position) VALUES (?, ?, ?, ?)",
                            (label.name, label.colour, label.hotkey, pos))
        return Label(cur.lastrowid, label.name, label.colour, label.hotkey, pos)

    # ------------------------------------------------------------------ clips
    def _validate(self, video: Video, start: int, end: int, track_id: int | None, crop: Crop | None) -> None:
        if start < 0 or end < 0:
            raise ProjectError(f"frames must be >= 0 (got {start}..{end})")
        if end < start:
            raise ProjectError(f"the clip ends (frame {end}) before it starts (frame {start})")
        if end >= video.frame_count:
            raise ProjectError(f"frame {end} is past the end of {video.name or video.path} "
                               f"({video.frame_count} frames, last is {video.frame_count - 1})")
        if crop is not None:
            if crop.kind == "rect":
                if crop.rect is None or len(crop.rect) != 4:
                    raise ProjectError("a rectangle crop needs x1, y1, x2, y2")
                x1, y1, x2, y2 = crop.rect
                if not (x2 > x1 and y2 > y1):
                    raise ProjectError(f"crop rectangle {crop.rect} is empty")
                if video.width and video.height and (x1 < 0 or y1 < 0 or x2 > video.width or y2 > video.height):
                    raise ProjectError(f"crop rectangle {tuple(round(v) for v in crop.rect)} lies outside the "
                                       f"{video.width}x{video.height} frame")
            elif crop.kind == "track":
                if track_id is None:
                    raise ProjectError("a 'follow track' crop needs the clip's track")
                if not 0 <= crop.margin <= 5:
                    raise ProjectError(f"crop margin {crop.margin} must be between 0 and 5 (fraction of the box)")
            else:
                raise ProjectError(f"unknown crop kind '{crop.kind}' (rect or track)")

    @staticmethod
    def _crop_values(crop: Crop | None) -> tuple:
        if crop is None:
            return (None, None, None, None, None, None)
        r = crop.rect or (None, None, None, None)
        return (crop.kind, *[None if v is None else float(v) for v in r], float(crop.margin))

    def add_clip(self, video_id: int, start: int, end: int, label: str, track_id: int | None = None,
                 crop: Crop | None = None, annotator: str = "", note: str = "") -> Clip:
        """Add a labelled clip (committed before returning).

        Raises:
            ProjectError: end before start, frames outside the video, label not in the taxonomy,
                crop outside the frame.
        """
        video = self.video(video_id)
        start, end = int(start), int(end)
        self._validate(video, start, end, track_id, crop)
        lid = self._label_id(label)
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO clips (video_id, start_frame, end_frame, label_id, track_id, crop_kind, crop_x1, crop_y1, "
                "crop_x2, crop_y2, crop_margin, annotator, note, created, modified) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (video_id, start, end, lid, track_id, *self._crop_values(crop), annotator, note, now, now))
        return self.clip(cur.lastrowid)

    def clip(self, clip_id: int) -> Clip:
        """The clip with ``clip_id``. Raises ProjectError if absent."""
        r = self._conn.execute(f"SELECT {_CLIP_COLS} FROM clips c JOIN labels l ON l.id=c.label_id WHERE c.id=?",
                               (clip_id,)).fetchone()
        if r is None:
            raise ProjectError(f"no clip with id {clip_id}")
        return _clip_from_row(r)

    _UNSET = object()

    def update_clip(self, clip_id: int, start: int | None = None, end: int | None = None, label: str | None = None,
                    track_id=_UNSET, crop=_UNSET, annotator: str | None = None, note: str | None = None) -> Clip:
        """Change fields of a clip (``None`` keeps a field; pass ``track_id=None``/``crop=None``
        explicitly to clear them). Validated like :meth:`add_clip`; committed before returning."""
        old = self.clip(clip_id)
        new = replace(old,
                      start=old.start if start is None else int(start),
                      end=old.end if end is None else int(end),
                      label=old.label if label is None else label,
                      track_id=old.track_id if track_id is Project._UNSET else track_id,
                      crop=old.crop if crop is Project._UNSET else crop,
                      annotator=old.annotator if annotator is None else annotator,
                      note=old.note if note is None else note)
        self._validate(self.video(old.video_id), new.start, new.end, new.track_id, new.crop)
        lid = self._label_id(new.label)
        with self._tx() as c:
            c.execute("UPDATE clips SET start_frame=?, end_frame=?, label_id=?, track_id=?, crop_kind=?, crop_x1=?, "
                      "crop_y1=?, crop_x2=?, crop_y2=?, crop_margin=?, annotator=?, note=?, modified=? WHERE id=?",
                      (new.start, new.end, lid, new.track_id, *self._crop_values(new.crop), new.annotator, new.note,
                       time.time(), clip_id))
        return self.clip(clip_id)

    def delete_clip(self, clip_id: int) -> Clip:
        """Delete a clip and return it (so an undo can :meth:`restore_clip` it)."""
        old = self.clip(clip_id)
        with self._tx() as c:
            c.execute("DELETE FROM clips WHERE id=?", (clip_id,))
        return old

    def restore_clip(self, clip: Clip) -> Clip:
        """Re-insert a deleted clip with its original id and times (undo of a delete).

        Raises:
            ProjectError: a clip with that id exists, or the clip is invalid now.
        """
        self._validate(self.video(clip.video_id), clip.start, clip.end, clip.track_id, clip.crop)
        lid = self._label_id(clip.label)
        try:
            with self._tx() as c:
                c.execute(
                    "INSERT INTO clips (id, video_id, start_frame, end_frame, label_id, track_id, crop_kind, crop_x1, "
                    "crop_y1, crop_x2, crop_y2, crop_margin, annotator, note, created, modified) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (clip.id, clip.video_id, clip.start, clip.end, lid, clip.track_id, *self._crop_values(clip.crop),
                     clip.annotator, clip.note, clip.created, clip.modified))
        except sqlite3.IntegrityError:
            raise ProjectError(f"clip {clip.id} already exists") from None
        return self.clip(clip.id)

    def clips(self, video_id: int | None = None, label: str | None = None, tracks=None) -> list[Clip]:
        """Clips, optionally of one video and/or one label and/or the tracks ``tracks`` (track IDs), ordered by
        video and start frame."""
        q = f"SELECT {_CLIP_COLS} FROM clips c JOIN labels l ON l.id=c.label_id WHERE 1=1"
        args: list = []
        if video_id is not None:
            q += " AND c.video_id=?"
            args.append(video_id)
        if label is not None:
            q += " AND l.name=?"
            args.append(label)
        if tracks is not None:
            tracks = sorted({int(t) for t in tracks})
            q += f" AND c.track_id IN ({', '.join('?' * len(tracks))})"
            args += tracks
        q += " ORDER BY c.video_id, c.start_frame, c.id"
        return [_clip_from_row(r) for r in self._conn.execute(q, args).fetchall()]

    def clip_tracks(self, video_id: int, tracks) -> dict[int, tuple[int | None, float]]:
        """``{clip id: (track ID, modified)}`` of the video's clips on the tracks ``tracks`` (track IDs): what a track
        edit changes of a clip, read without building the clips (the labeller updates the clips it shows)."""
        tracks = sorted({int(t) for t in tracks})
        if not tracks:
            return {}
        rows = self._conn.execute(f"SELECT id, track_id, modified FROM clips WHERE video_id=? AND track_id IN "
                                  f"({', '.join('?' * len(tracks))})", [video_id, *tracks]).fetchall()
        return {int(i): (None if t is None else int(t), float(m)) for i, t, m in rows}

    def clips_in_range(self, video_id: int, first: int, last: int) -> list[Clip]:
        """Clips of a video that overlap frames ``first..last`` (inclusive); uses the frame indexes."""
        q = (f"SELECT {_CLIP_COLS} FROM clips c JOIN labels l ON l.id=c.label_id "
             "WHERE c.video_id=? AND c.start_frame<=? AND c.end_frame>=? ORDER BY c.start_frame, c.id")
        return [_clip_from_row(r) for r in self._conn.execute(q, (video_id, int(last), int(first))).fetchall()]

    # ------------------------------------------------------------------ skeletons
    def imported_skeletons_path(self, video: Video) -> Path:
        """Where the skeleton cache of an imported sequence (kind ``skeletons``) is stored."""
        return self.skeleton_dir / video.hash / "imported.npz"

    def iter_skeletons(self, video: Video, backend: str = "yolo", cancel=None, estimator_factory=None,
                       edited: bool = True, editable: bool = False):
        """Generator (see :mod:`core.extract`) returning the :class:`~core.cache.SkeletonCache` of a
        project video: the stored cache of an imported sequence, or the project's cached pose
        extraction of a real video (computed on first use, with progress). Skeletons the player
        already computed in the per-user cache with the same settings are copied in, not recomputed.

        Args:
            video: the project's entry; backend: pose backend; cancel: polled once a frame;
            estimator_factory: builds the estimator (e.g. on a remote worker, :func:`core.extract.iter_skeletons`);
                None: the local ``backend``;
            edited: apply the project's track and keypoint edits (:meth:`edited_skeletons`; an
                :class:`core.track_edits.EditedSkeletons`); False: the cache as extracted.
            editable: (edited) the result owns writable keypoints, so the labeller's joint edits patch them in
                place (:func:`core.track_edits.apply_edits`).

        Raises:
            CacheError: an imported sequence's cache is missing; VideoError, ModelError.
        """
        from .cache import SkeletonCache, cache_dir
        from .extract import iter_skeletons

        if video.kind == "skeletons":
            cache = SkeletonCache.load(self.imported_skeletons_path(video))
        else:
            cache = yield from iter_skeletons(video.path, backend, root=self.skeleton_dir, also_look_in=(cache_dir(),),
                                              estimator_factory=estimator_factory, cancel=cancel)
        return self.edited_skeletons(video, cache, editable=editable) if edited else cache

    def clip_count(self) -> int:
        """Number of clips in the project."""
        return self._conn.execute("SELECT COUNT(*) FROM clips").fetchone()[0]

    # ================================================================== model-assisted labelling (issue 12)
    # Suggestions of a classifier (core/suggest.py computes them). Tables of their own, created when missing
    # (:data:`_SCHEMA_SUGGEST`, no schema-version bump: an older PoseWatch ignores them).
    def _ensure_suggestion_tables(self) -> None:
        have = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"suggestion_sets", "suggestion_probs", "suggestions", "clip_provenance"} <= have:
            with self._tx() as c:
                for stmt in _SCHEMA_SUGGEST.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
        cols = {r[1] for r in self._conn.execute("PRAGMA table_info(suggestion_sets)")}
        if "skeletons" not in cols:  # sets stored before suggestions followed track edits: judged on unknown tracks
            with self._tx() as c:
                c.execute("ALTER TABLE suggestion_sets ADD COLUMN skeletons TEXT NOT NULL DEFAULT ''")
                c.execute("ALTER TABLE suggestion_sets ADD COLUMN track_edits TEXT NOT NULL DEFAULT '[]'")

    def store_suggestion_set(self, video_id: int, model_hash: str, model_name: str, label_names: list[str],
                             probs: dict, runs: list[tuple], skeletons: str = "", track_edits=()) -> SuggestionSet:
        """Store a model's suggestions for a video, replacing any earlier set of the same model (same hash).

        The reviews of the set replaced are kept (a recompute must not undo the annotator's work): its accepted and
        rejected suggestions stay, with their IDs (which undo commands hold), frames, label and clip, on today's
        track IDs, and a new run of the same track and label that overlaps one of them (intersection over union
        ≥ 0.5) is not proposed again. An open suggestion that a new run proposes again keeps its ID: if the run is
        the same (track, frames, label), or if the annotator has changed the suggestion (nudged edges, another
        label) and the run is on its track and overlaps it (IoU ≥ 0.5); it then stays as they left it and the run
        is not added. Other open suggestions are dropped, and their IDs are never given again (``meta`` key
        ``suggestion_id_high``), so an undo command that holds one fails with "no suggestion" instead of changing
        another suggestion.

        Args:
            video_id: the video; model_hash: SHA-256 hex of the checkpoint file; model_name: its display name;
            label_names: the model's classes (K, index order of ``probs``).
            probs: ``{track_id or None (whole frame): (frames (L,) int, probs (L, K) float32)}``; rows of NaN are
                detections the model could not judge.
            runs: ``(track_id or None, start, end, label, mean probability)`` per proposed clip (frames inclusive).
            skeletons, track_edits: the skeleton key and the :class:`core.track_edits.TrackEdit` list of the tracks
                judged (``EditedSkeletons.track_edits``), so that later track edits move the suggestions with them.

        Raises:
            ProjectError: unknown video, a run outside the video or a probability array of the wrong shape.
        """
        import json

        import numpy as np

        video = self.video(video_id)
        k = len(label_names)
        now = time.time()
        before = self.suggestions(video_id, model_hash)
        reviewed = [s for s in before if s.status != "open"]
        still_open = [s for s in before if s.status == "open"]

        def seen(tid, start: int, end: int, label: str) -> bool:
            return any(r.track_id == tid and r.label == label and frame_iou(r.start, r.end, start, end) >= 0.5
                       for r in reviewed)

        # open suggestions the annotator changed (nudged, relabelled) since the model proposed them: a row's
        # ``modified`` equals its set's ``created`` until then (both the same clock reading at the store)
        edited = {r[0]: r[1] for r in self._conn.execute(
            "SELECT s.id, s.modified FROM suggestions s JOIN suggestion_sets t ON t.id=s.set_id WHERE t.video_id=? AND "
            "t.model_hash=? AND s.status='open' AND s.modified != t.created", (video_id, model_hash))}

        def proposed_again(tid, start: int, end: int, label: str) -> Suggestion | None:
            """The open suggestion a new run proposes again (and takes out of ``still_open``), or None."""
            same = next((o for o in still_open if (o.track_id, o.start, o.end, o.label) == (tid, start, end, label)),
                        None)
            near = same or next((o for o in still_open if o.id in edited and o.track_id == tid
                                 and frame_iou(o.start, o.end, start, end) >= 0.5), None)
            if near is not None:
                still_open.remove(near)
            return near

        r = self._conn.execute("SELECT value FROM meta WHERE key='suggestion_id_high'").fetchone()
        high = max(int(r[0]) if r else 0,
                   self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM suggestions").fetchone()[0])
        with self._tx() as c:
            c.execute("DELETE FROM suggestion_sets WHERE video_id=? AND model_hash=?", (video_id, model_hash))
            judged = [[e.kind, e.track, e.other, e.frame] for e in track_edits]
            cur = c.execute("INSERT INTO suggestion_sets (video_id, model_hash, model_name, label_names, created, "
                            "skeletons, track_edits) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (video_id, model_hash, model_name, json.dumps(list(label_names)), now, skeletons,
                             json.dumps(judged)))
            sid = cur.lastrowid
            for tid, (frames, pr) in probs.items():
                frames = np.asarray(frames, np.int32)
                pr = np.asarray(pr, np.float32)
                if pr.shape != (len(frames), k):
                    raise ProjectError(f"probabilities of track {tid}: shape {pr.shape}, expected ({len(frames)}, {k})")
                c.execute("INSERT INTO suggestion_probs (set_id, track_id, frames, probs) VALUES (?, ?, ?, ?)",
                          (sid, -1 if tid is None else int(tid), frames.tobytes(), pr.tobytes()))
            for r in reviewed:  # first, with their own IDs
                c.execute("INSERT INTO suggestions (id, set_id, track_id, start_frame, end_frame, label, prob, status, "
                          "clip_id, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (r.id, sid, r.track_id, r.start, r.end, r.label, r.prob, r.status, r.clip_id, now))
            for tid, start, end, label, prob in runs:
                if not 0 <= int(start) <= int(end) < video.frame_count:
                    raise ProjectError(f"suggestion {start}..{end} lies outside the video ({video.frame_count} frames)")
                tid, start, end, label = None if tid is None else int(tid), int(start), int(end), str(label)
                if seen(tid, start, end, label):
                    continue
                again = proposed_again(tid, start, end, label)
                modified = now
                if again is not None:  # its ID, and the annotator's edges and label; the new mean probability
                    sugg_id, (start, end) = again.id, (again.start, again.end)
                    prob = prob if again.label == label else again.prob
                    label = again.label
                    modified = edited.get(again.id, now)  # an edited one stays the annotator's after this store
                else:
                    high += 1
                    sugg_id = high
                c.execute("INSERT INTO suggestions (id, set_id, track_id, start_frame, end_frame, label, prob, "
                          "modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (sugg_id, sid, tid, start, end, label, float(prob), modified))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('suggestion_id_high', ?)", (str(high),))
        return self._suggestion_set(sid)

    def delete_suggestion_set(self, video_id: int, model_hash: str) -> None:
        """Delete one model's suggestion set of a video: its probabilities and all its suggestions, reviewed or not
        (the clips accepted from them stay, with their provenance). Raises ProjectError if there is no such set."""
        with self._tx() as c:
            if c.execute("DELETE FROM suggestion_sets WHERE video_id=? AND model_hash=?",
                         (int(video_id), model_hash)).rowcount == 0:
                raise ProjectError(f"video {video_id} has no suggestions of the model {model_hash[:12]}")

    def suggestion_sets(self, video_id: int | None = None, model_hash: str | None = None) -> list[SuggestionSet]:
        """Stored suggestion sets (one per video and model), optionally of one video and/or one model hash."""
        q, args = ("SELECT id, video_id, model_hash, model_name, label_names, created, skeletons, track_edits "
                   "FROM suggestion_sets WHERE 1=1"), []
        if video_id is not None:
            q += " AND video_id=?"
            args.append(video_id)
        if model_hash is not None:
            q += " AND model_hash=?"
            args.append(model_hash)
        rows = self._conn.execute(q + " ORDER BY video_id, id", args).fetchall()
        return [self._set_from_row(r) for r in rows]

    def _set_from_row(self, r) -> SuggestionSet:
        import json

        from .track_edits import TrackEdit

        judged = tuple(TrackEdit(*e) for e in json.loads(r[7] or "[]"))
        later, stale = (), False
        if r[6]:  # edits made since it was judged apply to its tracks; one it was judged with taken back: stale
            now = self.track_edits(r[1], r[6])
            if tuple(now[:len(judged)]) == judged:
                later = tuple(now[len(judged):])
            else:
                stale = True
        return SuggestionSet(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], judged, later, stale)

    def _suggestion_set(self, set_id: int) -> SuggestionSet:
        r = self._conn.execute("SELECT id, video_id, model_hash, model_name, label_names, created, skeletons, "
                               "track_edits FROM suggestion_sets WHERE id=?", (set_id,)).fetchone()
        if r is None:
            raise ProjectError(f"no suggestion set with id {set_id}")
        return self._set_from_row(r)

    def suggestion_probs(self, set_id: int) -> dict:
        """The stored probabilities of a set: ``{track_id or None: (frames (L,) int64, probs (L, K) float32)}``, on
        today's track IDs (the track edits made since the set was judged applied: a merge joins two tracks' rows,
        a split divides them, a deleted track's rows are left out)."""
        import numpy as np

        from .track_edits import retrack_rows

        out = {}
        for tid, fb, pb in self._conn.execute("SELECT track_id, frames, probs FROM suggestion_probs WHERE set_id=? "
                                              "ORDER BY track_id", (set_id,)):
            frames = np.frombuffer(fb, np.int32).astype(np.int64)
            out[None if tid == -1 else tid] = (frames, np.frombuffer(pb, np.float32).reshape(len(frames), -1).copy())
        later = self._suggestion_set(set_id).later_edits
        if not later:
            return out
        whole = out.pop(None, None)
        if out:
            tids = list(out)
            frames = np.concatenate([out[t][0] for t in tids])
            probs = np.concatenate([out[t][1] for t in tids])
            ids = retrack_rows(frames, np.repeat(tids, [len(out[t][0]) for t in tids]), later)
            out = {}
            for t in np.unique(ids[ids >= 0]).tolist():
                sel = np.flatnonzero(ids == t)
                sel = sel[np.argsort(frames[sel], kind="stable")]
                out[int(t)] = (frames[sel], probs[sel])
        if whole is not None:
            out[None] = whole
        return out

    def suggestions(self, video_id: int | None = None, model_hash: str | None = None,
                    status: str | None = None) -> list[Suggestion]:
        """Suggestions, optionally of one video, one model hash and/or one status, by video and start frame; on
        today's track IDs (see :meth:`suggestion_probs`; a suggestion of a deleted track is left out)."""
        q = f"SELECT {_SUGGESTION_COLS}, s.set_id FROM suggestions s JOIN suggestion_sets t ON t.id=s.set_id WHERE 1=1"
        args: list = []
        for col, v in (("t.video_id", video_id), ("t.model_hash", model_hash), ("s.status", status)):
            if v is not None:
                q += f" AND {col}=?"
                args.append(v)
        q += " ORDER BY t.video_id, s.start_frame, s.id"
        rows = self._conn.execute(q, args).fetchall()
        later: dict[int, tuple] = {}
        out = []
        for r in rows:
            if r[-1] not in later:
                later[r[-1]] = self._suggestion_set(r[-1]).later_edits
            s = self._retracked(Suggestion(*r[:-1]), later[r[-1]])
            if s is not None:
                out.append(s)
        return out

    def suggestion(self, suggestion_id: int) -> Suggestion:
        """The suggestion with ``suggestion_id`` (on today's track IDs). Raises ProjectError if absent (or its
        track was deleted)."""
        r = self._conn.execute(f"SELECT {_SUGGESTION_COLS}, s.set_id FROM suggestions s JOIN suggestion_sets t "
                               "ON t.id=s.set_id WHERE s.id=?", (suggestion_id,)).fetchone()
        if r is None:
            raise ProjectError(f"no suggestion with id {suggestion_id}")
        s = self._retracked(Suggestion(*r[:-1]), self._suggestion_set(r[-1]).later_edits)
        if s is None:
            raise ProjectError(f"suggestion {suggestion_id} was on a track that has been deleted")
        return s

    @staticmethod
    def _retracked(s: Suggestion, later: tuple) -> Suggestion | None:
        if not later or s.track_id is None:
            return s
        from .track_edits import retrack

        t = retrack(s.track_id, s.start, later)
        return None if t is None else (s if t == s.track_id else replace(s, track_id=t))

    def update_suggestion(self, suggestion_id: int, start: int | None = None, end: int | None = None,
                          label: str | None = None, status: str | None = None, clip_id=_UNSET) -> Suggestion:
        """Change a suggestion (``None`` keeps a field; ``clip_id=None`` clears the clip made from it).

        Raises:
            ProjectError: unknown suggestion, frames outside the video or end before start, a label not in the
                taxonomy, a status not in :data:`SUGGESTION_STATUSES`.
        """
        old = self.suggestion(suggestion_id)
        new = replace(old, start=old.start if start is None else int(start), end=old.end if end is None else int(end),
                      label=old.label if label is None else label, status=old.status if status is None else status,
                      clip_id=old.clip_id if clip_id is Project._UNSET else clip_id)
        self._validate(self.video(old.video_id), new.start, new.end, None, None)
        self._label_id(new.label)
        if new.status not in SUGGESTION_STATUSES:
            raise ProjectError(f"unknown suggestion status '{new.status}' ({', '.join(SUGGESTION_STATUSES)})")
        with self._tx() as c:
            c.execute("UPDATE suggestions SET start_frame=?, end_frame=?, label=?, status=?, clip_id=?, modified=? "
                      "WHERE id=?", (new.start, new.end, new.label, new.status, new.clip_id, time.time(),
                                     suggestion_id))
        return self.suggestion(suggestion_id)

    def set_clip_provenance(self, clip_id: int, model_name: str, model_hash: str, prob: float,
                            suggestion_id: int | None = None) -> None:
        """Record that clip ``clip_id`` was accepted from a model's suggestion (name, hash, mean probability)."""
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO clip_provenance (clip_id, suggestion_id, model_name, model_hash, prob) "
                      "VALUES (?, ?, ?, ?, ?)", (int(clip_id), suggestion_id, model_name, model_hash, float(prob)))

    def clip_provenance(self, clip_id: int) -> dict | None:
        """``{"model_name", "model_hash", "prob", "suggestion_id"}`` of a clip accepted from a suggestion, or None
        (a clip drawn by hand, or one that no longer exists)."""
        r = self._conn.execute("SELECT p.model_name, p.model_hash, p.prob, p.suggestion_id FROM clip_provenance p "
                               "JOIN clips c ON c.id=p.clip_id WHERE p.clip_id=?", (clip_id,)).fetchone()
        return None if r is None else {"model_name": r[0], "model_hash": r[1], "prob": r[2], "suggestion_id": r[3]}

    def remove_clip_provenance(self, clip_id: int) -> None:
        """Forget a clip's provenance (the undo of an accept)."""
        with self._tx() as c:
            c.execute("DELETE FROM clip_provenance WHERE clip_id=?", (int(clip_id),))


class _Transaction:
    """``with`` block that commits on success and rolls back on error (autocommit connection)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


class _Savepoint:
    """One edit inside a :meth:`Project.batch`: undone alone if it fails, committed with the batch."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("SAVEPOINT posewatch_edit")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.conn.execute("ROLLBACK TO posewatch_edit")
        self.conn.execute("RELEASE posewatch_edit")
