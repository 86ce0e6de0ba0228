"""Session state, the colorize scheduler and the playback clock (no window, no workers)."""
from fractions import Fraction

import pytest

from colorizer_app.core.pipeline.scheduler import Plan, next_batch, priority_order
from colorizer_app.gui.session import (
    COLORIZED,
    GRAY,
    ORIGINAL,
    SIDE_BY_SIDE,
    SPLIT,
    FilmInfo,
    Session,
)


def _film(n=100, color=True):
    return FilmInfo(path="/x/film.mp4", frame_count=n, fps=Fraction(24000, 1001), width=160,
                    height=96, has_color=color, project_dir="/x/film.mp4.bento")


@pytest.fixture
def session(qtbot):
    s = Session()
    s.set_film(_film())
    return s


def test_frame_is_clamped_and_signals_only_on_change(session, qtbot):
    seen = []
    session.frameChanged.connect(seen.append)
    session.set_frame(500)
    session.set_frame(99)          # same frame: no signal (this is what stops echo loops)
    session.step(-200)
    assert seen == [99, 0]


def test_in_out_marking(session):
    session.set_frame(20)
    session.mark_in()
    session.set_frame(60)
    session.mark_out()
    assert (session.in_point, session.out_point) == (20, 60)
    session.set_frame(80)
    session.mark_in()               # in past out drags out along instead of swapping
    assert (session.in_point, session.out_point) == (80, 80)
    session.clear_in_out()
    assert (session.in_point, session.out_point) == (0, 99)


def test_view_modes_and_ab(qtbot):
    s = Session()
    s.set_film(_film(color=False))
    assert ORIGINAL not in s.available_modes()
    s.set_view_mode(ORIGINAL)        # a black-and-white film has no original colour view
    assert s.view_mode == COLORIZED
    s.toggle_ab()
    assert s.view_mode == GRAY       # B is gray for a black-and-white source
    s.toggle_ab()
    assert s.view_mode == COLORIZED
    s.set_film(_film(color=True))
    assert s.compare_b == ORIGINAL   # and the real colour for a colour source
    s.set_view_mode(SPLIT)
    s.toggle_ab()                    # from a compare view, A/B goes to A
    assert s.view_mode == COLORIZED
    s.set_view_mode(SIDE_BY_SIDE)
    assert s.view_mode == SIDE_BY_SIDE


def test_work_size_snaps_to_64(session):
    session.set_work_size(300)
    assert session.work_size == 320
    session.set_work_size(10)
    assert session.work_size == 64


# ---- scheduler ----------------------------------------------------------------------------------
def test_playhead_first_then_window_then_in_out():
    plan = Plan(playhead=50, in_point=10, out_point=90, frame_count=100, ahead=4, behind=2)
    order = list(dict.fromkeys(priority_order(plan)))
    assert order[0] == 50
    assert order[1:7] == [51, 52, 49, 53, 54, 48]          # two ahead for one behind
    rest = order[7:]
    assert rest[: 90 - 55 + 1] == list(range(55, 91))      # then in/out from the playhead on
    assert set(order) == set(range(10, 91))                # nothing outside in/out but the window


def test_next_batch_sends_pending_playhead_alone_and_skips_done():
    plan = Plan(playhead=5, in_point=0, out_point=20, frame_count=21, ahead=3, behind=1)
    assert next_batch(plan, lambda i: False, 4) == [5]
    done = {5}
    assert next_batch(plan, done.__contains__, 4) == [6, 7, 4, 8]
    done.update(range(0, 21))
    assert next_batch(plan, done.__contains__, 4) == []


def test_scrolled_past_requests_are_dropped():
    """The worker re-plans every batch: frames near the old playhead are no longer chosen."""
    done = set()
    first = next_batch(Plan(10, 0, 999, 1000, background=False), done.__contains__, 4)
    done.update(first)
    later = next_batch(Plan(700, 0, 999, 1000, background=False), done.__contains__, 4)
    assert later == [700]
    assert not set(next_batch(Plan(700, 0, 999, 1000, background=False),
                              {700}.__contains__, 30)) & set(range(0, 600))


def test_reverse_direction_prefers_frames_behind():
    plan = Plan(playhead=50, in_point=0, out_point=99, frame_count=100, ahead=4, behind=1,
                direction=-1)
    order = list(priority_order(plan))
    assert order[:3] == [50, 49, 48]


# ---- playback clock -----------------------------------------------------------------------------
def test_player_plays_at_rate_and_counts_dropped(qtbot, monkeypatch):
    import types

    from colorizer_app.gui import playback
    from colorizer_app.gui.playback import Player
    # the player's own clock, driven by the test: a loaded machine cannot bend the figures
    clock = [10.0]
    monkeypatch.setattr(playback, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    s = Session()
    s.set_film(FilmInfo("/x/f.mp4", 1000, Fraction(50), 16, 16, False, "/x"))
    p = Player(s)
    # A display that shows every other frame only: half the frames must count as dropped.
    s.frameChanged.connect(lambda i: p.frame_shown(i) if i % 2 == 0 else None)
    p.play(1.0)
    p._timer.stop()                                 # ticks come from the test
    for _ in range(30):                             # 0.6 s at 50 fps, one tick per frame
        clock[0] += 0.02
        p._tick()
    # dropped: the odd frames 1..29, and frame 0, which this display never reported
    assert s.frame == 30 and p.dropped == 16 and p.shown == 15
    p._tick()                                       # no time passed: nothing happens
    assert s.frame == 30 and p.dropped == 16
    # a late tick (the GUI stalled 0.1 s): the clock skips 4 frames, all dropped
    clock[0] += 0.1
    p._tick()
    assert s.frame == 35 and p.dropped == 16 + 4    # frame 30 was shown; 31-34 never were
    p.stop()


def test_jkl_shuttle(qtbot):
    from colorizer_app.gui.playback import Player
    s = Session()
    s.set_film(FilmInfo("/x/f.mp4", 100, Fraction(24), 16, 16, False, "/x"))
    p = Player(s)
    p.forward()
    assert p.speed == 1
    p.forward()
    p.forward()
    assert p.speed == 4
    p.backward()
    assert p.speed == -1
    p.backward()
    assert p.speed == -2
    p.stop()
    assert not p.playing
    p.toggle()
    assert p.speed == 1
    p.stop()


def test_playback_loops_in_out(qtbot):
    from colorizer_app.gui.playback import Player
    s = Session()
    s.set_film(FilmInfo("/x/f.mp4", 100, Fraction(100), 16, 16, False, "/x"))
    s.set_in_out(10, 14)
    s.set_frame(12)
    p = Player(s)
    seen = set()
    s.frameChanged.connect(lambda i: (seen.add(i), p.frame_shown(i)))
    p.play(1.0)
    qtbot.wait(250)
    p.stop()
    assert seen <= set(range(10, 15)) and {10, 14} <= seen
