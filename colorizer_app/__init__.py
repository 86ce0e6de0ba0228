"""BentoColor Studio: neural colorization of black-and-white film, with artist review and correction."""
import os as _os

__version__ = "0.1.0"

# OpenCV's thread pool makes its threads spin (busy-wait) after every parallel call, waiting for
# the next one. The app runs its own threads side by side (decode, two playback composes, the
# network, the encoder) on as few as two cores, and that spinning took their time: a playback
# compose cost 38 ms of CPU instead of 25 ms single-threaded, and with no spinning 30 ms at about
# the same wall time (the display thread's CPU per 1080p playback frame: 52 -> 42 ms in
# benchmarks/bench_gui.py --playback-only). OpenCV reads these once, when it loads, so they are
# set before anything in the package imports cv2; a value the user exported wins.
for _name in ("OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER", "OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN"):
    _os.environ.setdefault(_name, "0")
