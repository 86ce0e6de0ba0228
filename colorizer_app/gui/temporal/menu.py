"""The Temporal menu (and the two imports in the File menu) with their keys:
Ctrl+K add a cut at the playhead, Delete the selected cut, Ctrl+Shift+K mark the frame as a
keyframe, P / Shift+P next / previous flicker peak."""
from __future__ import annotations


def build_menu(self) -> None:
    """Create the actions on the controller `self` (a TemporalController) in its registry."""
    reg = self.actions
    self.menu = reg.menu("temporal", "&Temporal")

    def act(action_id, text, keys, slot, **kw):
        return reg.register(action_id, text, slot, keys, menu="temporal", **kw)

    self.add_cut_action = act("addCut", "Add &cut at playhead", ["Ctrl+K"],
                              lambda: self.add_cut())
    self.delete_cut_action = act("deleteCut", "&Delete selected cut", ["Delete"],
                                 lambda: self.delete_cut(), enabled=False)
    self.detect_action = act("detectShots", "Detect shots again", [], self.detect_again)
    reg.separator("temporal")
    self.mark_key_action = act("markKeyframe", "Mark frame as &keyframe", ["Ctrl+Shift+K"],
                               lambda: self.mark_keyframe())
    self.import_still_action = act("importStill", "Import colour &still for this frame…", [],
                                   lambda: self.import_still())
    self.import_folder_action = act("importRefFolder", "Import reference &folder…", [],
                                    lambda: self.import_folder())
    self.remove_key_action = act("removeKeyframe", "&Remove keyframe at playhead", [],
                                 lambda: self.remove_keyframe(self.session.frame))
    reg.separator("temporal")
    self.next_peak_action = act("nextFlickerPeak", "Go to &next flicker peak", ["P"],
                                lambda: self.goto_peak(1))
    self.prev_peak_action = act("prevFlickerPeak", "Go to previous flicker peak", ["Shift+P"],
                                lambda: self.goto_peak(-1))
    reg.separator("temporal")
    reg.add("temporal", self.panel.toggleViewAction())
    # the imports also live in the File menu, with the project items (before "Open model…")
    if reg.has_menu("file"):
        for a in (self.import_still_action, self.import_folder_action):
            reg.add("file", a, before="openModel")
