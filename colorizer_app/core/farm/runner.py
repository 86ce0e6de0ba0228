"""Render a film, or a library of films, on a Ray cluster (core.farm.plan decides the chunks).

    driver (this process)                        Ray workers (any node)
      plan: chunks, names, cuts  ──tasks──►  render_chunk: core.pipeline.render of one range
      progress over the film     ◄─tally──   (model loaded once per worker process)
      join, frame-exact + audio                into a hidden temp, renamed under the chunk name

Ray does the scheduling: a worker killed mid-chunk (kill -9, a lost node) is retried by Ray
(``max_retries``); an exception inside a chunk (bad frames, a bad still) is not retried and fails
the run with one line naming the chunk. Finished chunks are files under names that hash their
inputs, so an interrupted run resumes. The film appears under its real name only when every chunk
is done and the join (core.farm.join: packet copy into .mkv, else one encode) has finished; the
chunks are then removed. Every node must see the film, the model, the project and the output folder under the
same paths (a shared file system); see the README's farm section.

Without an address, ``ray.init`` starts a local cluster on this machine; with one, it joins.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from .plan import Chunk, FarmCancelled, FarmError, FilmPlan

if TYPE_CHECKING:
    from ..ml.inference import Colorizer

MAX_RETRIES = 3                      # per chunk, for lost workers (not for exceptions)
HOOK_ENV = "BENTO_FARM_HOOK_DIR"     # tests: a chunk pauses while <dir>/pause exists
_COLORIZERS: dict[tuple[str, int, int, int], Colorizer] = {}


@dataclass
class FilmResult:
    out: str
    frames: int
    chunks_rendered: int
    chunks_skipped: int
    seconds: float
    join_seconds: float
    audio_codec: str | None = None
    skipped: bool = False             # the output already existed (library rerun)


def ray_module() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise FarmError("the farm needs Ray: pip install 'bentocolor-studio[farm]' "
                        "(or pip install ray)") from None
    return cast(ModuleType, ray)  # ray's stubs are not followed (pyproject): it is Any


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the cluster at ``address``, else start a local one (no dashboard)."""
    ray = ray_module()
    if ray.is_initialized():
        return
    if address:
        _probe(address)
    quiet = dict(log_to_driver=False, logging_level=logging.ERROR)   # the progress bar speaks
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise FarmError(f"cannot reach {where}: {str(exc).strip().splitlines()[0]}") from None


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds with one line when nothing listens at host:port (ray.init would retry
    for minutes, logging from C++)."""
    import socket
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        if address == "auto":
            return
        raise FarmError(f"--address must be HOST:PORT (e.g. 10.0.0.1:6379), got '{address}'")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise FarmError(f"cannot reach the Ray cluster at {address}: "
                        f"{exc.strerror or exc.__class__.__name__} (is `ray start --head` "
                        f"running there?)") from None


# ------------------------------------------------------------------------------- worker side
def _colorizer(model: str, size: int) -> Colorizer:
    """One loaded model per worker process and (model, size): chunks after the first skip the load."""
    from ..ml.inference import Colorizer
    st = os.stat(model)
    key = (model, st.st_size, st.st_mtime_ns, size)
    if key not in _COLORIZERS:
        _COLORIZERS.clear()
        _COLORIZERS[key] = Colorizer(model, size=size, batch_size=4)
    return _COLORIZERS[key]


def _test_pause(chunk: Chunk) -> None:
    d = os.environ.get(HOOK_ENV)
    if not d or not os.path.exists(os.path.join(d, "pause")):
        return
    with open(os.path.join(d, f"pid_{chunk.index}"), "w") as f:
        f.write(str(os.getpid()))
    t_end = time.monotonic() + 120
    while os.path.exists(os.path.join(d, "pause")) and time.monotonic() < t_end:
        time.sleep(0.05)


def render_chunk(spec: dict[str, Any], chunk: Chunk, tally: Any = None) -> int:
    """Render one chunk into its file (atomic). Runs in a Ray worker; also callable directly."""
    from ..pipeline.render import RenderJob, render

    if os.path.isfile(chunk.path):              # a retry after the first try finished
        return chunk.stop - chunk.start
    os.makedirs(os.path.dirname(chunk.path), exist_ok=True)
    _test_pause(chunk)
    colorizer = _colorizer(spec["model"], spec["size"])
    if spec["project"]:
        from pathlib import Path

        from ..project.project import open_project
        job = RenderJob.from_project(open_project(Path(spec["project"])), model=colorizer,
                                     size=spec["size"])
    else:
        job = RenderJob(source=spec["source"], model=colorizer, working_size=spec["size"])
    job.temporal = spec["temporal"]
    job.data_dir = None                         # chroma caches are per machine, not shared
    total = chunk.stop - chunk.start
    last = [0.0]

    def progress(done: int, _total: int) -> None:
        now = time.monotonic()
        if tally is not None and (now - last[0] > 0.5 or done == total):
            last[0] = now
            tally.report.remote(chunk.path, done)

    # a name unique to this try: a retry never writes into a dead try's file
    base, ext = os.path.splitext(chunk.path)
    temp = f"{os.path.dirname(base)}/.try-{os.getpid()}-{os.path.basename(base)}{ext}"
    try:
        result = render(job, temp, frames=(chunk.start, chunk.stop),
                        bit_depth=spec["bit_depth"], progress=progress, use_cache=False)
    except Exception as exc:
        raise FarmError(f"{chunk.label}: {_line(exc)}") from None
    if result.replaced or result.frames_written != total:
        # render keeps a damaged film going with stand-ins; a farm run stops and says where
        _unlink(temp)
        from ..media.fill import frame_ranges
        lost = result.replaced or range(chunk.start + result.frames_written, chunk.stop)
        why = result.first_error or (result.errors[0] if result.errors else None)
        raise FarmError(f"{chunk.label}: frame(s) {frame_ranges(lost)} could not be decoded"
                        + (f" ({why})" if why else ""))
    os.replace(temp, chunk.path)
    return total


# ------------------------------------------------------------------------------- driver side
class _Tally:
    """Frames done per chunk, reported by the workers, read by the driver's progress bar."""

    def __init__(self) -> None:
        self.done: dict[str, int] = {}

    def report(self, key: str, n: int) -> None:
        self.done[key] = n

    def get(self) -> dict[str, int]:
        return dict(self.done)


class _FilmRun:
    """One film on the cluster: submit its missing chunks, wait for them, join them."""

    def __init__(self, plan: FilmPlan, retries: int, log: Callable[[str], None]):
        self.plan, self.retries, self.log = plan, retries, log
        self.pending: dict[object, Chunk] = {}
        self.tally: Any = None                  # a Ray actor handle of a _Tally
        self.t0 = time.perf_counter()

    def submit(self) -> None:
        ray = ray_module()
        plan = self.plan
        os.makedirs(plan.workdir, exist_ok=True)
        self.done, self.todo = plan.done(), plan.todo()
        if self.done:
            self.log(f"{plan.input}: {len(self.done)} of {len(plan.chunks)} chunks already rendered")
        self.finished = sum(c.stop - c.start for c in self.done)
        task = ray.remote(render_chunk).options(max_retries=self.retries, retry_exceptions=False,
                                                num_cpus=1)
        self.tally = ray.remote(_Tally).options(num_cpus=0).remote() if self.todo else None
        spec_ref = ray.put(plan.spec)
        self.pending = {task.remote(spec_ref, c, self.tally): c for c in self.todo}

    def wait(self, progress: Callable[[int, int], None] | None,
             cancel: threading.Event | None) -> None:
        ray = ray_module()
        pending = self.pending
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    self.finished += ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    raise FarmError(_task_line(exc, chunk)) from None
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
                    raise FarmError(f"{self.plan.input}: {chunk.label} lost its worker "
                                    f"{self.retries + 1} times ({type(exc).__name__})") from None
            if cancel is not None and cancel.is_set():
                raise FarmCancelled("farm cancelled")
            if progress is not None:
                partial = ray.get(self.tally.get.remote()) if pending else {}
                running = sum(n for k, n in partial.items()
                              if any(c.path == k for c in pending.values()))
                progress(self.finished + running, self.plan.frames)
        self.stop()
        self.render_s = time.perf_counter() - self.t0

    def stop(self) -> None:
        ray = ray_module()
        for ref in self.pending:                # interrupts the chunk (its temp is removed);
            ray.cancel(ref)                     # the worker lives on, its model loaded
        self.pending = {}
        if self.tally is not None:
            ray.kill(self.tally)
            self.tally = None

    def join(self, cancel: threading.Event | None) -> FilmResult:
        from ..media import MediaError
        from .join import join_chunks
        plan = self.plan
        t1 = time.perf_counter()
        try:
            audio_codec = join_chunks(plan, cancel)
        except (MediaError, OSError) as exc:
            raise FarmError(f"{plan.input}: cannot join: {_line(exc)}") from None
        for c in plan.chunks:                   # the film is complete: its chunks are spent
            _unlink(c.path)
        _remove_quietly(plan.workdir)
        join_s = time.perf_counter() - t1
        return FilmResult(plan.out, plan.frames, len(self.todo), len(self.done),
                          self.render_s + join_s, join_s, audio_codec)


def farm_film(plan: FilmPlan, *, progress: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None, retries: int = MAX_RETRIES,
              log: Callable[[str], None] = lambda m: None) -> FilmResult:
    """Render ``plan``'s missing chunks on the connected cluster, then join them into its output."""
    return farm_library([plan], progress=None if progress is None else (lambda p: progress),
                        cancel=cancel, retries=retries, log=log, skip_existing=False)[0]


def farm_library(plans: list[FilmPlan], *,
                 progress: Callable[[FilmPlan], Callable[[int, int], None]] | None = None,
                 cancel: threading.Event | None = None, retries: int = MAX_RETRIES,
                 log: Callable[[str], None] = lambda m: None,
                 skip_existing: bool = True) -> list[FilmResult]:
    """Films in order, each filling the cluster with its chunks; the next film's chunks are
    submitted before a film is joined, so the cluster works while the driver joins. A film
    whose output exists is done and skipped: a rerun resumes at the film (and chunk) it
    stopped in. ``progress(plan)`` gives a film's progress callback."""
    results: list[FilmResult | None] = []
    runs: list[_FilmRun | None] = []
    for plan in plans:
        if skip_existing and os.path.exists(plan.out):
            log(f"{plan.out}: exists, skipped")
            results.append(FilmResult(plan.out, 0, 0, len(plan.chunks), 0.0, 0.0, skipped=True))
            runs.append(None)
        else:
            results.append(None)
            runs.append(_FilmRun(plan, retries, log))
    todo = [(k, r) for k, r in enumerate(runs) if r is not None]
    try:
        if todo:
            todo[0][1].submit()
        for n, (k, run) in enumerate(todo):
            run.wait(progress(run.plan) if progress is not None else None, cancel)
            if n + 1 < len(todo):
                todo[n + 1][1].submit()         # the cluster renders on while this film joins
            results[k] = run.join(cancel)
    except BaseException:
        for r in runs:
            if r is not None:
                r.stop()
        raise
    return [r for r in results if r is not None]  # (every film has its result by now)


# ------------------------------------------------------------------------------- helpers
def _task_line(exc: BaseException, chunk: Chunk) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, FarmError):
        return str(cause)
    text = _line(cause) if cause is not None else _line(exc)
    return f"{chunk.label}: {text}"


def _line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_quietly(folder: str) -> None:
    """The work folder, with what dead tries left and the hint stills; never anything else."""
    refs = os.path.join(folder, "refs")
    try:
        if os.path.isdir(refs):
            for name in os.listdir(refs):
                if name.startswith(("ref_", ".ref_")) and name.endswith((".png", ".partial")):
                    _unlink(os.path.join(refs, name))
            os.rmdir(refs)
        for name in os.listdir(folder):
            if name.startswith((".try-", "..try-")):      # a try, or a try's partial file
                _unlink(os.path.join(folder, name))
        os.rmdir(folder)
    except OSError:
        pass
