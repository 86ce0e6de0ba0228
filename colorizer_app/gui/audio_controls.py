"""Sound controls: a mute button and a volume slider in the status bar, Playback ▸ Mute (M), and
both kept in the settings."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSlider, QToolButton, QWidget

from .audio import AudioPlayer

STATE_TEXT = {"none": "no sound", "muted": "muted", "silent": "sound", "playing": "sound"}


class AudioControls(QWidget):
    def __init__(self, audio: AudioPlayer, settings, parent=None):
        super().__init__(parent)
        self.audio, self.settings = audio, settings
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.setSpacing(4)
        self.mute_button = QToolButton()
        self.mute_button.setObjectName("muteButton")
        self.mute_button.setCheckable(True)
        self.mute_button.setText("no sound")   # the button says the state: sound / muted
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setObjectName("volumeSlider")
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(64)
        self.volume.setToolTip("Volume")
        for w in (self.mute_button, self.volume):
            lay.addWidget(w)
        self.volume.setValue(int(settings.value("audio/volume", 100, int)))
        self.mute_button.setChecked(bool(settings.value("audio/muted", False, bool)))
        audio.set_volume(self.volume.value() / 100.0)
        audio.set_muted(self.mute_button.isChecked())
        self.volume.valueChanged.connect(self._on_volume)
        self.mute_button.toggled.connect(self.set_muted)
        audio.stateChanged.connect(self._on_state)
        self._on_state("none")

    def set_muted(self, muted: bool) -> None:
        if self.mute_button.isChecked() != muted:
            self.mute_button.setChecked(muted)      # comes back here through toggled
            return
        self.audio.set_muted(muted)
        self.settings.setValue("audio/muted", bool(muted))

    def toggle_mute(self) -> None:
        self.set_muted(not self.audio.muted)

    def _on_volume(self, value: int) -> None:
        self.audio.set_volume(value / 100.0)
        self.settings.setValue("audio/volume", value)

    def _on_state(self, state: str) -> None:
        has = self.audio.has_audio
        self.mute_button.setEnabled(has)
        self.volume.setEnabled(has)
        sink = self.audio.sink
        self.mute_button.setText(STATE_TEXT.get(state, state))
        where = f" on {sink.name}" if sink is not None else ""
        self.mute_button.setToolTip({"none": "This film has no sound",
                                     "muted": "Sound muted: click or M to hear it"}.get(
            state, f"Sound at 1× playback{where}: click or M to mute"))
