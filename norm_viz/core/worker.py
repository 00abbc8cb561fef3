"""Heavy views in a process of their own (issue 18 §3): the server's students never share a GIL with them.

A view (placement, fluctuation, the causal Jacobian) is mostly small torch ops called from Python, so in a thread of
the server it holds the GIL most of the time and every other rerun, and the event loop that sends their replies,
waits behind it. Here it runs in a child process (`python -m norm_viz.core.worker`), one job at a time, at a lower
OS priority: the server's thread only waits for the answer and says "stop" when its tab closes (the job's `tick`
raises at its next call). The child imports torch and the compute modules, never streamlit; it ends when the server
does (its input closes).

    pool = Pool(size=1, nice=10)
    view = pool.run(placement_view, (x, cfg), poll=checkpoint)  # = placement_view(x, cfg, tick) in the child

Requests and answers are pickles over the child's pipes: only this package's own functions and objects, between the
server and the child it started (nothing a visitor sends is ever unpickled).
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = str(Path(__file__).resolve().parents[2])
_HEADER = struct.Struct("<Q")
_FLAG = struct.Struct("<q")
STOP_WAIT_S = 10.0
"""How long a stopped job may take to reach its next tick before its child is killed (and replaced at the next job)."""
POLL_S = 0.05
"""How often the waiting server thread calls `poll` (the tab-closed check)."""


class Cancelled(Exception):
    """Raised by a job's tick once the server asked it to stop (its tab closed or reran)."""


class WorkerDied(RuntimeError):
    """The child process ended (killed, out of memory) before answering."""


def _write(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)  # the server's own objects from its own child (see the module docstring)


class Worker:
    """One child process running one job at a time."""

    def __init__(self, nice: int = 0) -> None:
        # the stop flag: 8 bytes both processes map (a memory-only file where Linux has one, else a temporary file)
        self._flag_file: IO[bytes] | None = None
        try:
            fd = os.memfd_create("norm-viz-stop-flag")
        except (AttributeError, OSError):
            self._flag_file = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
            fd = self._flag_file.fileno()
        os.pwrite(fd, _FLAG.pack(0), 0)
        self._flag = mmap.mmap(fd, _FLAG.size)
        self._fd = fd
        # one torch thread; large tensors in their own mappings, given back when freed (ui/process.fix_mmap_threshold);
        # this package importable wherever the server was started
        path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": str(1024 * 1024), "PYTHONPATH": path}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "norm_viz.core.worker", str(fd), str(int(nice))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(fd,),
            env=env,
        )
        self._ids = itertools.count(1)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], poll: Callable[[], None] | None = None) -> Any:
        """`fn(*args, tick)` in the child; `poll` is called in this thread every POLL_S while it runs: when it raises
        (the tab closed), the job is told to stop, its answer awaited (at most STOP_WAIT_S, else the child is killed)
        and the exception re-raised. The job's own exception is raised here."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        job = next(self._ids)
        try:
            _write(self.proc.stdin, (job, fn, args))
        except (BrokenPipeError, OSError) as e:
            raise WorkerDied(f"the worker process ended (exit code {self.proc.poll()})") from e
        out = self.proc.stdout
        try:
            while not select.select([out], [], [], POLL_S)[0]:
                if poll is not None:
                    poll()
        except BaseException:
            self._stop(job)
            raise
        return self._answer(job)

    def _answer(self, job: int) -> Any:
        assert self.proc.stdout is not None
        try:
            done, kind, value = _read(self.proc.stdout)
        except (EOFError, OSError) as e:
            raise WorkerDied(f"the worker process ended (exit code {self.proc.wait()})") from e
        assert done == job, (done, job)
        if kind == "ok":
            return value
        if kind == "cancelled":
            raise Cancelled(f"job {job} stopped")
        raise value

    def _stop(self, job: int) -> None:
        """Ask job `job` to stop at its next tick and wait for its answer (kill the child if it does not come)."""
        _FLAG.pack_into(self._flag, 0, job)
        assert self.proc.stdout is not None
        if select.select([self.proc.stdout], [], [], STOP_WAIT_S)[0]:
            try:
                self._answer(job)
            except WorkerDied:
                pass
            except Exception:  # Cancelled, or the job's own error (it ended before it saw the flag)
                return
            else:
                return
        self.kill()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        self._release()

    def _release(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if f is not None:
                    f.close()
        with contextlib.suppress(OSError, ValueError):
            self._flag.close()
            if self._flag_file is None:
                os.close(self._fd)
            else:
                self._flag_file.close()

    def close(self) -> None:
        """End the child: its input closes, it leaves its loop (killed if it does not within a second)."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            self.kill()
        else:
            self._release()


class Pool:
    """At most `size` workers, started on first use and kept; `run` takes an idle one (waits for one otherwise)."""

    def __init__(self, size: int = 1, nice: int = 0) -> None:
        self.size, self.nice = max(1, size), nice
        self._cv = threading.Condition()
        self._idle: list[Worker] = []
        self._count = 0

    def _take(self) -> Worker:
        with self._cv:
            while True:
                while self._idle:
                    w = self._idle.pop()
                    if w.alive:
                        return w
                    self._count -= 1
                    w.kill()
                if self._count < self.size:
                    self._count += 1
                    break
                self._cv.wait(POLL_S)
        try:
            return Worker(self.nice)
        except BaseException:
            with self._cv:
                self._count -= 1
            raise

    def _give(self, w: Worker) -> None:
        with self._cv:
            if w.alive:
                self._idle.append(w)
            else:
                self._count -= 1
                w.kill()  # reaps it and closes its pipes and flag
            self._cv.notify()

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], poll: Callable[[], None] | None = None) -> Any:
        """`fn(*args, tick)` in a worker of this pool (see Worker.run)."""
        w = self._take()
        try:
            return w.run(fn, args, poll)
        finally:
            self._give(w)

    def pids(self) -> list[int]:
        """The process ids of the workers started (for tests and the load driver)."""
        with self._cv:
            return [w.proc.pid for w in self._idle]

    def close(self) -> None:
        with self._cv:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for w in idle:
            w.close()


def _serve(flag_fd: int, nice: int) -> None:
    """The child's loop: read a job, run it with a tick that raises Cancelled once the server flags it, answer."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to the server's log, not into the answers
    inp = sys.stdin.buffer
    flag = mmap.mmap(flag_fd, _FLAG.size)
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    import torch

    torch.set_num_threads(1)
    while True:
        try:
            job, fn, args = _read(inp)
        except EOFError:
            return
        if not getattr(fn, "__module__", "").startswith("norm_viz."):
            _write(out, (job, "error", TypeError(f"not a norm_viz function: {fn!r}")))
            continue

        def tick(job: int = job) -> None:
            if _FLAG.unpack_from(flag, 0)[0] == job:
                raise Cancelled

        try:
            answer: tuple[int, str, Any] = (job, "ok", fn(*args, tick))
        except Cancelled:
            answer = (job, "cancelled", None)
        except Exception as e:  # the job's own error (a ValueError the page shows, or a bug): raised in the server
            answer = (job, "error", e)
        try:
            _write(out, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            _write(out, (job, "error", RuntimeError(f"{type(answer[2]).__name__} could not be sent back: {e}")))
        del answer


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
