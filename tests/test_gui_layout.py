"""The window on a laptop screen: it can be smaller than 1280×720 with every panel still docked,
the layout persists and resets, and the review keys work the moment a film opens (focus sits on
the picture, and controls hand it back when the artist is done with them)."""
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QSpinBox

from colorizer_app.gui import window_layout
from colorizer_app.gui.main_window import MainWindow
from colorizer_app.gui.session import SPLIT
from tests.helpers.clips import make_clip

pytestmark = pytest.mark.usefixtures("no_threads_left")

TIMEOUT = 30000
PANELS = {"modelPanel", "brushDock", "colourDock", "correctionsDock", "historyDock", "temporalDock"}


def _settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def _window(qtbot, settings):
    w = MainWindow(settings=settings, model_path="")   # no model: layout and keys only
    qtbot.addWidget(w, before_close_func=lambda win: win.shutdown())
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    return w


def _focused(w):
    f = QApplication.focusWidget()
    return f is not None and (f is w.viewer or w.viewer.isAncestorOf(f))


def test_window_fits_a_laptop_screen_with_every_panel_docked(qtbot, tmp_path):
    w = _window(qtbot, _settings(tmp_path))
    hint, minimum = w.minimumSizeHint(), w.minimumSize()
    assert hint.width() <= 1280 and hint.height() <= 720, hint
    assert minimum.width() <= 1280 and minimum.height() <= 720, minimum
    docks = window_layout.docks(w)
    assert PANELS <= set(docks)                     # (and any panel added later)
    # 1366×768 less a title bar and a panel: everything is inside the window, nothing floats
    w.resize(1366, 700)
    qtbot.waitUntil(lambda: w.height() == 700)
    QApplication.processEvents()
    area = w.rect()
    shown = {n: d for n, d in docks.items() if not d.visibleRegion().isEmpty()}
    assert len(shown) >= 3                          # one tab of each group
    for name, d in docks.items():
        assert not d.isFloating() and w.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
        if name not in shown:                       # a tab behind a shown panel
            assert any(t in shown.values() for t in w.tabifiedDockWidgets(d)), name
            continue
        top = d.mapTo(w, QPoint(0, 0))
        assert area.contains(top) and top.y() + d.height() <= area.height(), name
    for part in (w.timeline, w.statusBar()):
        bottom = part.mapTo(w, QPoint(0, part.height() - 1))
        assert part.isVisible() and area.contains(bottom)
    # the picture keeps most of the window
    assert w.viewer.width() * w.viewer.height() > 0.45 * 1366 * 700
    # tall panels scroll inside their dock instead of growing the window
    assert all(d.widget().objectName().endswith("Scroll") for d in docks.values())


def test_layout_and_geometry_are_saved_restored_and_reset(qtbot, tmp_path):
    settings = _settings(tmp_path)
    w = _window(qtbot, settings)
    w.resize(760, 560)  # within the offscreen screen (800×800)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == (760, 560))
    brush = window_layout.docks(w)["brushDock"]
    brush.close()
    assert w.shutdown()
    w.close()

    again = _window(qtbot, settings)
    assert (again.width(), again.height()) == (760, 560)
    assert not window_layout.docks(again)["brushDock"].isVisible()
    assert window_layout.docks(again)["colourDock"].isVisible()
    hist = window_layout.docks(again)["historyDock"]
    hist.setFloating(True)
    again.actions_by_name["resetLayout"].trigger()
    qtbot.waitUntil(lambda: window_layout.docks(again)["brushDock"].isVisible())
    assert not hist.isFloating()
    assert again.tabifiedDockWidgets(window_layout.docks(again)["correctionsDock"])
    qtbot.waitUntil(lambda: _focused(again))
    assert _focused(again)
    assert again.shutdown()


def test_keys_work_right_after_opening_and_controls_give_focus_back(qtbot, tmp_path):
    clip = str(make_clip(tmp_path / "reel.mp4", n_frames=24, size=(96, 64), audio=False))
    w = _window(qtbot, _settings(tmp_path))
    spin = w.model_panel.size_spin
    spin.setFocus()                 # where focus used to sit after a film opened
    qtbot.waitUntil(spin.hasFocus)
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(clip)
    qtbot.waitUntil(lambda: _focused(w))
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_4)
    assert w.session.view_mode == SPLIT
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert w.session.frame == 1
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert w.player.playing
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_K)
    assert not w.player.playing

    # a spin box: typed value applied on Enter, then the keys are the viewer's again
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "128")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert w.session.work_size == 128
    assert _focused(w)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1)
    assert w.session.view_mode == "gray"
    # Escape leaves any spin box; a slider gives focus back when released
    other = next(s for s in w.findChildren(QSpinBox) if s is not spin and s.isVisible())
    other.setFocus()
    qtbot.waitUntil(other.hasFocus)
    qtbot.keyClick(other, Qt.Key.Key_Escape)
    assert _focused(w)
    slider = w.temporal.panel.strength_slider
    assert not slider.focusPolicy() & Qt.FocusPolicy.ClickFocus
    slider.setFocus()
    slider.sliderReleased.emit()
    assert _focused(w)
    assert w.shutdown()
