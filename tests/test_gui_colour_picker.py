"""The colour dock's recent swatches: most recent first, at most MAX_RECENT, one click picks."""
from colorizer_app.gui.paint.colour_picker import MAX_RECENT, ColourPicker, lab_to_qcolor


def _swatches(picker):
    return [b for b in picker._recent_buttons if not b.isHidden()]


def test_recent_swatches_follow_the_colours_used(qtbot):
    picker = ColourPicker()
    qtbot.addWidget(picker)
    for k in range(MAX_RECENT + 3):
        picker.remember((k, -k))
    shown = _swatches(picker)
    assert len(shown) == MAX_RECENT == len(picker.recent)
    assert picker.recent[0] == (MAX_RECENT + 2, -(MAX_RECENT + 2))      # newest first
    want = lab_to_qcolor(60.0, *picker.recent[0])
    assert shown[0].icon().pixmap(18, 18).toImage().pixelColor(9, 9) == want
    assert shown[0].toolTip() == f"a {MAX_RECENT + 2:+.0f}, b {-(MAX_RECENT + 2):+.0f}"
    # a colour used again moves to the front and is not listed twice; buttons are reused
    buttons = list(picker._recent_buttons)
    picker.remember(picker.recent[5])
    assert picker.recent[0] == (MAX_RECENT - 3, -(MAX_RECENT - 3))
    assert len(set(picker.recent)) == MAX_RECENT and picker._recent_buttons == buttons
    # a click on a swatch makes it the current colour
    got = []
    picker.colourChanged.connect(lambda a, b: got.append((a, b)))
    shown[3].click()
    assert picker.ab == picker.recent[3] and got == [picker.recent[3]]
