"""Work-arounds for bugs in the pinned Qt bindings, applied when :mod:`gui` is imported.

PySide6 6.12.0 on CPython 3.11 returns the singletons ``None`` and ``True`` without taking a new
reference: every call of a ``void`` Qt method from Python (``widget.update()``, ``setValue(…)``,
``setPixmap(…)``, …) takes one reference away from ``None``, and every ``signal.emit()`` one from
``True``. (The bindings behave as if the objects were immortal, which they are only from CPython
3.12 on, PEP 683.) Once a count reaches zero the process dies with "Fatal Python error:
none_dealloc" (or ``bool_dealloc``): after minutes of playback, or at exit.
:func:`protect_singletons` gives ``None``, ``True`` and ``False`` the protection CPython 3.12 gives
them, by adding 2**40 references that no session can use up.
"""

from __future__ import annotations

import ctypes
import sys

#: References added to each protected singleton (never released; they are never deallocated anyway).
EXTRA_REFERENCES = 1 << 40
#: The objects protected.
SINGLETONS = (None, True, False)


def emit_leaks_true() -> bool:
    """True when emitting a signal from Python costs ``True`` a reference (the PySide6 bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        sig = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(4):
        probe.sig.emit()
    return sys.getrefcount(True) < before


def void_call_leaks_none() -> bool:
    """True when calling a ``void`` Qt method from Python costs ``None`` a reference (the bug)."""
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(4):
        obj.setObjectName("probe")
    return sys.getrefcount(None) < before


def protect_singletons() -> bool:
    """Make ``None``, ``True`` and ``False`` effectively immortal on CPython < 3.12 (see the module
    docstring).

    Returns:
        True if references were added (at most once per process), False if nothing was needed.
    """
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if getattr(sys, "_posewatch_singletons_protected", False):
        return False
    for obj in SINGLETONS:
        # ob_refcnt is the first field (Py_ssize_t) of every CPython object
        ctypes.c_ssize_t.from_address(id(obj)).value += EXTRA_REFERENCES
    sys._posewatch_singletons_protected = True
    return True
