"""core.heap: the process keeps its freed tensor memory instead of re-faulting it every run."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A worker thread makes and drops four 28 MB arrays (a 256-px network run's largest tensors),
# twelve times; prints the fresh-page faults per round once the heap has settled.
CHILD = textwrap.dedent("""
    import resource, sys, threading
    import numpy as np
    if sys.argv[1] == "tuned":
        from colorizer_app.core.heap import keep_heap_for_tensors
        assert keep_heap_for_tensors() and keep_heap_for_tensors()
    faults = []
    def work():
        for _ in range(12):
            f0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            arrays = [np.ones((7 << 20,), np.float32) for _ in range(4)]
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
def test_tuned_heap_stops_refaulting_big_arrays():
    plain, tuned = _faults("plain"), _faults("tuned")
    assert plain > 200            # glibc's defaults hand the memory back and fault it in again
    assert tuned < plain / 10
