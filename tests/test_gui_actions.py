"""The window's wiring: every menu action is registered by id in one ActionRegistry and the menus
are built from it; ids and keys are unique (two actions share a key only where they are never
enabled together); one recent-files list; opening a path goes through public methods."""
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDockWidget

from colorizer_app.gui.actions import ActionRegistry
from colorizer_app.gui.main_window import MainWindow

# Keys two actions share on purpose, each pair never enabled together:
# the brush takes [ ] from in/out while it is active; Delete deletes the selected cut or hint.
SHARED_KEYS = {"[": {"markIn", "brushSmaller"}, "]": {"markOut", "brushLarger"},
               "Del": {"deleteCut", "deleteHint"}}


@pytest.fixture
def win(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("files/recent", [str(tmp_path / "film.mp4")])
    settings.setValue("projects/recent", [str(tmp_path / "a.bento.json")])   # the old key
    w = MainWindow(settings=settings, model_path="")
    qtbot.addWidget(w, before_close_func=lambda x: x.shutdown())
    return w


def _menu_actions(menu):
    for a in menu.actions():
        if a.isSeparator():
            continue
        if a.menu() is not None:
            yield from _menu_actions(a.menu())
        else:
            yield menu, a


def test_every_menu_action_is_registered_by_id_and_the_menus_come_from_the_registry(win):
    reg = win.action_registry
    menus = reg.menus()
    # the menu bar holds exactly the registry's top-level menus, in this order
    assert [a.menu() for a in win.menuBar().actions()] == \
        [menus[k] for k in ("file", "edit", "view", "playback", "temporal")]
    recent = {menus["recent"], menus["recentProjects"]}
    docks = {d.toggleViewAction() for d in win.findChildren(QDockWidget)}
    seen = set()
    for menu, a in _menu_actions(win.menuBar()):
        if menu in recent or a in docks:
            continue                      # recent entries and the panels' own show/hide items
        aid = a.objectName()
        assert aid in reg and reg[aid] is a, f"menu action {a.text()!r} is not registered"
        seen.add(aid)
    # every registered action with a menu is in that menu; ids are unique object names
    for aid in reg.ids():
        where = reg.menu_of(aid)
        if where is not None:
            assert reg[aid] in menus[where].actions(), aid
        assert reg[aid].objectName() == aid and reg[aid] in win.actions()
    assert len(set(reg.ids())) == len(reg.ids())
    assert {"open", "newProject", "saveProject", "export", "undo", "brush", "hintTool",
            "addCut", "importStill", "learnFilm", "thumbnails", "resetLayout"} <= seen
    # the temporal imports are in the File menu too, before "Open model…"
    file_actions = menus["file"].actions()
    assert file_actions.index(reg["importStill"]) < file_actions.index(reg["openModel"])
    assert win.actions_by_name == reg.by_id()


def test_an_id_is_registered_once(win):
    with pytest.raises(ValueError):
        win.action_registry.register("open", "Again")
    reg = ActionRegistry(win)
    reg.menu("m", "&M")
    a = reg.register("x", "X", menu="m", shortcut="Ctrl+Alt+9")
    assert reg["x"] is a and reg.menu_of("x") == "m" and reg.menu("m").actions() == [a]


def test_no_two_enabled_actions_answer_to_one_key(win):
    reg = win.action_registry
    owners: dict = {}
    for aid, a in reg.by_id().items():
        for k in a.shortcuts():
            if k.toString():
                owners.setdefault(k.toString(), set()).add(aid)
    shared = {k: ids for k, ids in owners.items() if len(ids) > 1}
    assert shared == SHARED_KEYS
    assert reg.shortcut_clashes() == []
    win.painting.set_brush_active(True)           # the brush takes [ ] from in/out
    assert reg["brushSmaller"].isEnabled() and reg.shortcut_clashes() == []
    win.painting.set_brush_active(False)
    assert not reg["brushSmaller"].isEnabled() and reg.shortcut_clashes() == []
    assert [k.toString() for k in reg["markIn"].shortcuts()] == ["I", "["]


def test_one_recent_files_list_and_the_old_project_key_is_migrated(win, tmp_path):
    s = win.settings
    film, project = str(tmp_path / "film.mp4"), str(tmp_path / "a.bento.json")
    assert not s.contains("projects/recent")
    assert s.value("files/recent", [], list) == [film, project]
    assert win.recent_files() == [film] and win.project.recent_projects() == [project]
    assert [a.toolTip() for a in win.recent_menu.actions()][0] == film
    assert [a.toolTip() for a in win.project.recent_menu.actions()] == [project]
    other = str(tmp_path / "b.bento.json")
    win.recent.add(other)                          # both menus follow the one list
    assert [a.toolTip() for a in win.project.recent_menu.actions()] == [other, project]
    assert win.recent_files() == [film]


def test_opening_goes_through_public_methods_not_a_replaced_one(win, tmp_path):
    assert "open_path" not in vars(win)            # nothing replaced the window's method
    asked = []
    win.project.maybe_save = lambda: asked.append(True) or False   # the artist cancels
    win.open_path(str(tmp_path / "film.mp4"))
    assert asked and win.session.film is None
