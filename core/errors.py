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


def one_line(message: object, limit: int = 400) -> str:
    """``message`` (text, an exception, any object) as one line for a status bar or ``error: …``: its first
    non-empty line, stripped, at most ``limit`` characters; an exception without a message gives its type's
    name, other empty messages ``""``."""
    lines = [s.strip() for s in str(message).splitlines() if s.strip()]
    if lines:
        return lines[0][:limit]
    return type(message).__name__ if isinstance(message, BaseException) else ""


def describe_error(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line: a :class:`PoseWatchError`'s own message (it is written for users), anything
    else (a bug, a library's error) ``TypeName: first line``."""
    text = one_line(exc, limit)
    if isinstance(exc, PoseWatchError) or text == type(exc).__name__:
        return text
    return f"{type(exc).__name__}: {text}"
