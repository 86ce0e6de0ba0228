"""core.heap: a worker thread's freed arrays stay in its heap instead of being faulted back in."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A worker thread makes and drops 24 arrays of 4 MB (under the mmap threshold, like a network
# run's work buffers) twelve times; prints the fresh-page faults per round once settled.
# "thresholds": the mmap and trim thresholds alone (the policy before the top pad).
CHILD = textwrap.dedent("""
    import ctypes, resource, sys, threading
    import numpy as np
    from colorizer_app.core import heap
    if sys.argv[1] == "configured":
        assert heap.configure_heap() and heap.configure_heap()
    else:
        libc = ctypes.CDLL(None)
        libc.mallopt(heap.M_MMAP_THRESHOLD, heap.MMAP_THRESHOLD)
        libc.mallopt(heap.M_TRIM_THRESHOLD, heap.TRIM_THRESHOLD)
    faults = []
    def work():
        for _ in range(12):
            f0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            arrays = [np.ones((1 << 20,), np.float32) for _ in range(24)]
            del arrays
            faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f0)
    t = threading.Thread(target=work)
    t.start()
    t.join()
    print(sum(faults[4:]) // len(faults[4:]))
""")


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_configured_heap_keeps_a_threads_freed_arrays():
    thresholds, configured = _faults("thresholds"), _faults("configured")
    assert thresholds > 500        # the arena shrinks after each round and faults it back in
    assert configured < thresholds / 10
