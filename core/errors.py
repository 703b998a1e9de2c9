"""Errors PoseWatch reports to users as one clear line (CLI: stderr + non-zero exit; GUI: dialog/status bar)."""


class PoseWatchError(Exception):
    """Base class for expected, user-facing errors; ``str(err)`` is a complete one-line message."""


class VideoError(PoseWatchError):
    """A video source is missing, unreadable, empty, truncated or uses a codec that cannot be decoded."""


class ModelError(PoseWatchError):
    """A model file is missing, corrupt, fails its checksum, or cannot be downloaded."""


class CacheError(PoseWatchError):
    """A skeleton cache file is unreadable or belongs to another video/backend."""


class RemoteError(PoseWatchError):
    """The remote worker is unreachable, refused the token, or broke the protocol (one-line message)."""
