"""What a panel may ask of the window it lives in: the host interface, and the one action/shortcut registry.

Panels (labelling, live view, remote worker, training) get the app state (:class:`core.state.AppState`) and a
:class:`Host`; they never hold the main window. A host can

- report an error (:meth:`Host.report_error`: status bar, a non-blocking message box, :attr:`Host.error_reported`)
  and show a message (:meth:`Host.show_message`);
- register an action by name with its shortcut from the settings (``shortcuts`` in ``resources/default.yaml``) in a
  named menu (:meth:`Host.add_action`; menus and their sections are found by name, never by their text);
- add a dock or a toolbar, give a parent for dialogs, and call back when the window closes.

Every QAction of the window is in :class:`ActionRegistry`, so a new shortcut can be checked against all others
(:meth:`ActionRegistry.shortcut_owner`).
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QStyle,
    QToolBar,
    QWidget,
)

from core import config
from core.errors import one_line

from .workers import call_on_close

log = logging.getLogger(__name__)


class _DockScrollArea(QScrollArea):
    """A dock's scroll area whose size hint leaves room for its vertical scroll bar beside the panel's narrowest
    layout, so a panel taller than its dock scrolls up and down only (QScrollArea's own hint does not count the bar,
    and the dock then needed a horizontal bar too)."""

    def sizeHint(self) -> QSize:  # noqa: D102 (Qt override)
        hint = super().sizeHint()
        w = self.widget()
        if w is None:
            return hint
        need = w.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QSize(max(hint.width(), need), hint.height())


class ActionRegistry(QObject):
    """The window's actions by name, their shortcuts (from :func:`core.config.shortcuts`) and its named menus.

    Args:
        window: the main window; actions are added to it, so their shortcuts work without a visible menu.
    """

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self._window = window
        self._actions: dict[str, QAction] = {}
        self._menus: dict[str, QMenu] = {}
        self._sections: dict[tuple[str, str], QAction] = {}  # (menu, section) -> the separator that ends it
        self._shortcuts = config.shortcuts()

    # ------------------------------------------------------------------ actions
    def add(self, name: str, text: str, slot: Callable | None = None, menu: str | None = None,
            section: str | None = None, checkable: bool = False, checked: bool = False,
            icon: QStyle.StandardPixmap | QIcon | None = None, tip: str = "", widget: QWidget | None = None,
            shortcuts: tuple[str, ...] | None = None, action: QAction | None = None) -> QAction:
        """Create (or adopt ``action``) and register action ``name``.

        Args:
            name: registry name; its shortcuts are ``shortcuts.<name>`` of the settings unless ``shortcuts`` is given.
            text: menu text (``&`` marks the mnemonic).
            slot: called on ``triggered`` (``toggled(bool)`` when ``checkable``).
            menu, section: the named menu (see :meth:`menu`) and its section to put it in (None: in no menu).
            widget: the shortcut works only while the focus is inside this widget (keys such as Enter and Delete,
                which text fields need); default: anywhere in the window.
            action: an existing action to register (e.g. a ``QUndoStack`` action); ``text``/``slot`` are then ignored.

        Returns:
            The action.

        Raises:
            ValueError: ``name`` is registered already.
        """
        if name in self._actions:
            raise ValueError(f"action '{name}' is registered already")
        act = action if action is not None else QAction(text, self._window)
        keys = [QKeySequence(k) for k in (self._shortcuts.get(name, ()) if shortcuts is None else shortcuts)]
        taken = [k for k in keys if self.shortcut_owner(k) is not None]
        if taken:
            log.warning("shortcut %s of '%s' is already taken by '%s'; it gets none",
                        taken[0].toString(), name, self.shortcut_owner(taken[0]))
            keys = [k for k in keys if k not in taken]
        if keys or action is None:
            act.setShortcuts(keys)
        if keys:
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut if widget is None
                                   else Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if icon is not None:
            act.setIcon(icon if isinstance(icon, QIcon) else self._window.style().standardIcon(icon))
        if action is None:
            shown = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
            act.setToolTip(f"{tip or text.replace('&', '').rstrip('…')}" + (f" ({shown})" if shown else ""))
            act.setCheckable(checkable)
            act.setChecked(checked)
            if slot is not None:
                (act.toggled if checkable else act.triggered).connect(slot)
        (widget if widget is not None else self._window).addAction(act)
        self._actions[name] = act
        if menu is not None:
            self.add_to_menu(menu, act, section)
        return act

    def remove(self, name: str) -> None:
        """Unregister action ``name`` (removed from the window and its menus; deleted later)."""
        act = self._actions.pop(name, None)
        if act is None:
            return
        for w in act.associatedObjects():
            if isinstance(w, QWidget):
                w.removeAction(act)
        act.deleteLater()

    def __getitem__(self, name: str) -> QAction:
        return self._actions[name]

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def get(self, name: str) -> QAction | None:
        """Action ``name`` or None."""
        return self._actions.get(name)

    def names(self) -> list[str]:
        """Registered action names, in registration order."""
        return list(self._actions)

    def items(self):
        """``(name, action)`` pairs."""
        return self._actions.items()

    def shortcut_owner(self, key: str | QKeySequence) -> str | None:
        """The name of the registered action with shortcut ``key``, or None."""
        seq = QKeySequence(key) if isinstance(key, str) else key
        for name, act in self._actions.items():
            if any(s.matches(seq) == QKeySequence.SequenceMatch.ExactMatch for s in act.shortcuts()):
                return name
        return None

    # ------------------------------------------------------------------ menus
    def menu(self, name: str, title: str | None = None, sections: tuple[str, ...] = ()) -> QMenu:
        """The menu-bar menu ``name`` (created at the end of the menu bar, titled ``title`` or ``&name``). Named
        ``sections`` split it by separators; :meth:`add_to_menu` puts an action at the end of a section."""
        m = self._menus.get(name)
        if m is None:
            m = self._window.menuBar().addMenu(title or f"&{name}")
            m.setObjectName(f"menu_{name.lower()}")
            self._menus[name] = m
        for s in sections:
            if (name, s) not in self._sections:
                self._sections[(name, s)] = m.addSeparator()
        return m

    def submenu(self, menu: str, name: str, title: str, section: str | None = None) -> QMenu:
        """Submenu ``name`` of menu ``menu`` (created once), registered as menu ``"<menu>/<name>"``."""
        key = f"{menu}/{name}"
        m = self._menus.get(key)
        if m is None:
            m = QMenu(title, self.menu(menu))
            m.setObjectName(f"menu_{name.lower()}")
            self.add_to_menu(menu, m.menuAction(), section)
            self._menus[key] = m
        return m

    def add_to_menu(self, menu: str, action: QAction, section: str | None = None) -> None:
        """Put ``action`` in menu ``menu`` (a name of :meth:`menu` or :meth:`submenu`), at the end of ``section``."""
        m = self._menus.get(menu) or self.menu(menu)
        end = self._sections.get((menu, section)) if section is not None else None
        if section is not None and end is None:
            end = self._sections[(menu, section)] = m.addSeparator()
        if end is not None:
            m.insertAction(end, action)
        else:
            m.addAction(action)

    def add_separator(self, menu: str, section: str | None = None) -> None:
        """A separator at the end of ``section`` of ``menu`` (or at its end)."""
        sep = QAction(self)
        sep.setSeparator(True)
        self.add_to_menu(menu, sep, section)


class Host(QObject):
    """The host interface the main window gives its panels (see the module docstring).

    Args:
        window: the main window (docks, toolbars, the status bar and dialogs' parent).
        settings: where panels keep their choices.
        show_dialogs: errors also open a non-blocking message box.

    Signals:
        error_reported(str): an error line was shown to the user.
    """

    error_reported = Signal(str)

    def __init__(self, window: QMainWindow, settings: QSettings, show_dialogs: bool = True):
        super().__init__(window)
        self._window = window
        self.settings = settings
        self.show_dialogs = show_dialogs
        self.actions = ActionRegistry(window)
        self._last_error: str | None = None
        self._message_box: QMessageBox | None = None
        self._docks: dict[str, QDockWidget] = {}

    @property
    def parent_widget(self) -> QWidget:
        """The widget dialogs are opened over."""
        return self._window

    # ------------------------------------------------------------------ errors and messages
    def report_error(self, message: object) -> None:
        """Show a one-line error in the status bar and (unless disabled) a non-blocking message box."""
        msg = one_line(message)
        self._last_error = msg
        log.warning("%s", msg)
        self._window.statusBar().showMessage(msg)
        if self.show_dialogs:
            if self._message_box is None:
                box = QMessageBox(QMessageBox.Icon.Warning, "PoseWatch", msg, QMessageBox.StandardButton.Ok,
                                  self._window)
                box.setWindowModality(Qt.WindowModality.NonModal)
                # the player keeps the keyboard: transport shortcuts go on working while it is shown
                box.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
                self._message_box = box
            self._message_box.setText(msg)
            self._message_box.show()  # never exec(): it would block the GUI thread
        self.error_reported.emit(msg)

    def show_message(self, message: str, ms: int = 6000) -> None:
        """Show ``message`` in the status bar for ``ms`` milliseconds."""
        self._window.statusBar().showMessage(str(message), ms)

    @property
    def last_error(self) -> str | None:
        """The last error line shown."""
        return self._last_error

    @property
    def message_box(self) -> QMessageBox | None:
        """The (non-modal) error message box, once one was shown."""
        return self._message_box

    # ------------------------------------------------------------------ actions, docks, toolbars
    def add_action(self, name: str, text: str, slot: Callable | None = None, menu: str | None = None,
                   **kwargs) -> QAction:
        """Register action ``name`` with its shortcut in menu ``menu`` (see :meth:`ActionRegistry.add`)."""
        return self.actions.add(name, text, slot, menu, **kwargs)

    def add_dock(self, name: str, title: str, widget: QWidget,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea, menu: str | None = None,
                 section: str | None = None, tabify_with: str | None = None, scrollable: bool = False) -> QDockWidget:
        """A hidden dock ``name`` holding ``widget``; with ``menu`` its show/hide toggle goes into that menu
        (registered as action ``dock_<name>``). ``scrollable`` puts ``widget`` in a scroll area, so a tall panel
        scrolls instead of making the window taller than the screen.

        Raises:
            ValueError: a dock ``name`` exists already.
        """
        if name in self._docks:
            raise ValueError(f"dock '{name}' exists already")
        d = QDockWidget(title, self._window)
        d.setObjectName(f"dock_{name}")
        if scrollable:
            area_widget = _DockScrollArea()
            area_widget.setWidget(widget)
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QFrame.Shape.NoFrame)
            widget = area_widget
        d.setWidget(widget)
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                      | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                      | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self._window.addDockWidget(area, d)
        if tabify_with is not None:
            self._window.tabifyDockWidget(self._docks[tabify_with], d)
        d.hide()
        self._docks[name] = d
        if menu is not None:
            act = d.toggleViewAction()
            act.setText(f"&{title}")
            act.setObjectName(f"action_dock_{name}")
            self.actions.add(f"dock_{name}", title, action=act, menu=menu, section=section)
        return d

    def dock(self, name: str) -> QDockWidget:
        """The dock added as ``name``."""
        return self._docks[name]

    def widen_dock(self, name: str, width: int) -> None:
        """Make the shown dock ``name`` (and the docks beside it in its area) at least ``width`` pixels wide, if the
        window leaves room for it (``QMainWindow.resizeDocks``); a user's later drag of the splitter wins."""
        d = self._docks[name]
        if d.isVisible() and d.width() < width:
            self._window.resizeDocks([d], [int(width)], Qt.Orientation.Horizontal)

    def add_toolbar(self, toolbar: QToolBar, new_row: bool = False) -> None:
        """Add ``toolbar`` to the window (``new_row``: under the others)."""
        if new_row:
            self._window.addToolBarBreak()
        self._window.addToolBar(toolbar)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the window closes (stop threads, save)."""
        call_on_close(self._window, callback)
