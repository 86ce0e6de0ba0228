"""The viewer and the timeline on their own, fed by a stand-in pipeline: pixel checks of what is
on screen in every view, the wipe, linked side-by-side zoom, fit/100 %, the tool hook, and the
timeline's scrubbing, cache bar and overlay API."""
from fractions import Fraction

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPointF, Qt, Signal

from colorizer_app.core.media.frames import BundleCache, FrameBundle
from colorizer_app.gui.session import (
    COLORIZED,
    GRAY,
    ORIGINAL,
    SIDE_BY_SIDE,
    SPLIT,
    FilmInfo,
    Session,
)
from colorizer_app.gui.timeline import Timeline
from colorizer_app.gui.viewbox import ViewerTool
from colorizer_app.gui.viewer import Viewer

W, H = 160, 96
RED, GREEN, GRAYV = (200, 30, 30), (30, 180, 40), (110, 110, 110)


class FakeChroma:
    """Stands for a loaded model's chroma cache (empty)."""
    key = "k"

    def mask(self, n):
        return np.zeros(n, bool)

    def has(self, i):
        return False


class FakePipeline(QObject):
    bundleReady = Signal(int)
    chromaReset = Signal()
    modelStatus = Signal(str, str)
    colorizedFrames = Signal(list)
    cacheInvalidated = Signal()

    def __init__(self):
        super().__init__()
        self.bundles = BundleCache()
        self.chroma = FakeChroma()  # "a model is loaded"

    def bundle(self, i):
        return self.bundles.get(i)

    def add(self, i, colorized=True):
        src = np.empty((H, W, 3), np.uint8)
        src[:] = GREEN
        gray = np.full((H, W, 3), GRAYV[0], np.uint8)
        col = np.empty((H, W, 3), np.uint8)
        col[:] = RED
        self.bundles.put(FrameBundle(i, src, gray, col if colorized else None, "k"))
        self.bundleReady.emit(i)


@pytest.fixture
def rig(qtbot):
    s = Session()
    pipe = FakePipeline()
    v = Viewer(s, pipe)
    v.resize(640, 400)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    s.set_film(FilmInfo("/x/f.mp4", 50, Fraction(24), W, H, True, "/x"))
    pipe.add(0)
    qtbot.wait(20)
    return s, pipe, v


def _close(c, ref, tol=6):
    return all(abs(a - b) <= tol for a, b in zip(c, ref))


def test_single_views_show_the_right_picture(rig):
    s, pipe, v = rig
    assert _close(v.screen_pixel(W / 2, H / 2), RED)           # colorized is the default
    s.set_view_mode(GRAY)
    assert _close(v.screen_pixel(W / 2, H / 2), GRAYV)
    s.set_view_mode(ORIGINAL)
    assert _close(v.screen_pixel(W / 2, H / 2), GREEN)


def test_pending_chroma_shows_gray_and_says_so(rig, qtbot):
    s, pipe, v = rig
    pipe.add(1, colorized=False)
    s.set_frame(1)
    assert _close(v.screen_pixel(W / 2, H / 2), GRAYV)
    assert "colorizing" in v.status_badge.text()
    pipe.add(1, colorized=True)
    assert _close(v.screen_pixel(W / 2, H / 2), RED)
    assert v.status_badge.text() == ""


def test_holds_last_frame_while_decoding(rig):
    s, pipe, v = rig
    s.set_frame(7)                                    # nothing decoded for frame 7 yet
    assert v.shown_index == 0 and _close(v.screen_pixel(W / 2, H / 2), RED)
    pipe.add(7)
    assert v.shown_index == 7


def test_split_wipe_and_divider_drag(rig, qtbot):
    s, pipe, v = rig
    s.set_view_mode(SPLIT)
    qtbot.wait(20)
    # before (original, green) left of the divider, after (colorized, red) right of it
    assert _close(v.screen_pixel(W * 0.25, H / 2), GREEN)
    assert _close(v.screen_pixel(W * 0.75, H / 2), RED)
    v.divider.setValue(W * 0.9)                       # as a drag does
    assert abs(s.split - 0.9) < 1e-6
    assert _close(v.screen_pixel(W * 0.75, H / 2), GREEN)
    assert _close(v.screen_pixel(W * 0.95, H / 2), RED)
    s.set_split(0.1)                                  # state -> divider, without echo
    assert abs(v.divider.value() - W * 0.1) < 1e-6


def test_side_by_side_links_zoom_and_pan(rig, qtbot):
    s, pipe, v = rig
    s.set_view_mode(SIDE_BY_SIDE)
    qtbot.wait(50)
    assert _close(v.screen_pixel(W / 2, H / 2, "left"), GREEN)
    assert _close(v.screen_pixel(W / 2, H / 2, "right"), RED)
    v.zoom_by(2.0)
    v.left.translateBy(x=10, y=5)
    qtbot.wait(20)
    assert np.allclose(v.left.viewRange(), v.right.viewRange())
    s.set_view_mode(COLORIZED)
    qtbot.wait(20)
    assert v.right not in v.canvas.ci.items


def test_fit_and_100_percent(rig, qtbot):
    s, pipe, v = rig
    v.fit()
    (x0, x1), (y0, y1) = v.left.viewRange()
    assert x0 <= 0 and x1 >= W and y0 <= 0 and y1 >= H        # whole frame visible
    v.zoom_100()
    qtbot.wait(20)
    assert abs(v.zoom() - 1.0) < 0.02


def test_tool_hook_gets_image_coordinates(rig, qtbot):
    s, pipe, v = rig

    class Probe(ViewerTool):
        def __init__(self):
            self.events = []

        def press(self, pos, mods):
            self.events.append(("press", pos.x(), pos.y()))
            return True

        def release(self, pos, mods):
            self.events.append(("release", pos.x(), pos.y()))
            return True

    tool = Probe()
    v.set_tool(tool)
    scene = v.left.mapViewToScene(QPointF(40, 30))
    pt = v.canvas.mapFromScene(scene)
    qtbot.mouseClick(v.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pt)
    assert tool.events and tool.events[0][0] == "press"
    assert abs(tool.events[0][1] - 40) < 1.5 and abs(tool.events[0][2] - 30) < 1.5
    v.set_tool(None)


# ---- timeline ---------------------------------------------------------------------------------
@pytest.fixture
def tl(qtbot):
    s = Session()
    pipe = FakePipeline()
    t = Timeline(s, pipe)
    t.resize(800, 110)
    qtbot.addWidget(t)
    t.show()
    qtbot.waitExposed(t)
    s.set_film(FilmInfo("/x/f.mp4", 100, Fraction(25), W, H, True, "/x"))
    return s, pipe, t


def test_timeline_scrub_click_and_drag_playhead(tl, qtbot):
    s, pipe, t = tl
    vb = t.box
    pt = t.plot.mapFromScene(vb.mapViewToScene(QPointF(42, 0.5)))
    qtbot.mouseClick(t.plot.viewport(), Qt.MouseButton.LeftButton, pos=pt)
    assert s.frame == 42
    t.playhead.setValue(63.4)                         # what dragging the line does
    assert s.frame == 63
    assert "63" in t.frame_label.text() and t.tc_label.text() == "00:00:02:13"
    s.set_frame(10)                                   # session -> playhead, no echo back
    assert t.playhead.value() == 10 and s.frame == 10


def test_timeline_in_out_and_cache_bar(tl, qtbot):
    s, pipe, t = tl
    s.set_in_out(20, 30)
    assert t.inout.getRegion() == (19.5, 30.5)
    assert "In 20" in t.inout_label.text()
    pipe.colorizedFrames.emit([1, 2, 3])
    qtbot.waitUntil(lambda: t.cache_img.image is not None and t.cache_img.image.shape[1] == 100)
    img = t.cache_img.image
    assert list(np.nonzero(t.colorized_mask())[0]) == [1, 2, 3]
    assert tuple(img[1, 2, :3]) == (70, 190, 110) and tuple(img[1, 50, :3]) != (70, 190, 110)


def test_timeline_overlay_api(tl):
    s, pipe, t = tl
    vals = np.linspace(0, 5, 100)
    vals[10] = np.nan
    item = t.add_curve("flicker", vals, color=(200, 80, 80))
    x, y = item.getData()
    assert len(x) == 100 and np.nanmax(y) <= 1.0 and np.nanmin(y) >= 0.1
    again = t.add_curve("flicker", vals[::-1] * 2, color=(10, 20, 30), lo=0.0)  # same name replaces
    assert t.curve_names() == ["flicker"] and again is item and again.scene() is not None
    from colorizer_app.gui.timeline import CURVE_Y0, CURVE_Y1
    v2 = vals[::-1] * 2
    want = CURVE_Y0 + v2 / np.nanmax(v2) * (CURVE_Y1 - CURVE_Y0)
    _x2, y2 = again.getData()
    assert np.allclose(y2, want, equal_nan=True)
    assert again.opts["pen"].color().getRgb()[:3] == (10, 20, 30)
    t.remove_curve("flicker")
    assert t.curve_names() == []
    t.set_cut_markers([40, 12, 77])
    assert t.cut_markers() == [12, 40, 77]


def test_difference_view_shows_a_minus_b_amplified(rig, qtbot):
    from colorizer_app.gui.session import DIFFERENCE
    from colorizer_app.gui.viewer import DIFF_GAIN
    s, pipe, v = rig
    s.set_view_mode(DIFFERENCE)
    qtbot.wait(20)
    # A = colorized (red), B = original (green: the film has colour)
    want = [min(255, round(abs(a - b) * DIFF_GAIN)) for a, b in zip(RED, GREEN)]
    assert _close(v.screen_pixel(W / 2, H / 2), want)
    assert "Colorized" in v.caption_left.text() and "Original" in v.caption_left.text()
    s.toggle_ab()                                     # from a compare view: to A
    assert s.view_mode == s.compare_a
