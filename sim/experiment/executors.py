"""Executors: one small interface (run chunks, yield results as they finish) over a serial
loop, a local process pool, or a Dask cluster. Nothing else knows which one runs."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Protocol

from sim.errors import SimError

SCHEDULER_TIMEOUT = 10  # seconds to wait for a --scheduler that does not answer
MAX_WORKERS = 256  # far beyond any one machine's cores; a typo such as --jobs 10000 is refused, not obeyed


@dataclass(frozen=True)
class WorkerDied:
    """In place of a result: the item, run alone, killed its worker process (a crash in compiled code, the
    out-of-memory killer, os._exit). The caller decides what to do with it; the executor goes on."""

    message: str = ("its worker process died (killed by a signal, out of memory, or a crash in compiled code) "
                    "while running it alone")


def watch_parent(parent: int) -> None:
    """Worker start-up: exit as soon as the parent is gone (SIGKILL, the OOM killer), instead of running on
    for ever holding memory and the terminal. A poll, because nothing else works for every way a parent dies."""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class SerialExecutor:
    workers = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, fn: Callable, items: Iterable, on_submit=None) -> Iterator[tuple[object, object]]:
        for item in items:
            if on_submit is not None:
                on_submit(item)
            yield item, fn(item)


class ProcessExecutor:
    """A pool of `workers` processes (spawned: no fork of the parent's state). Workers exit when the parent
    dies; on an exception in the parent (Ctrl-C, SIGTERM) they are terminated, not waited for. A worker that
    dies breaks the pool: the pool is rebuilt and the items that were in flight and unfinished run again one at a time,
    so that the one that kills its worker is known and reported as WorkerDied while the rest go on."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None

    def _start(self) -> None:
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=watch_parent, initargs=(os.getpid(),))

    def _stop(self, wait_for_workers: bool) -> None:
        pool, self.pool = self.pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        if not wait_for_workers:
            for process in processes:
                process.terminate()
        for process in processes:
            process.join(timeout=10)
        pool.shutdown(wait=True)

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc):
        self._stop(wait_for_workers=exc[0] is None)
        return False

    def run(self, fn, items, on_submit=None):
        """Yield (item, result) as items finish; `on_submit(item)` is called as an item is handed to a worker."""
        queue, suspects = deque(items), deque()
        submit = self._submitter(fn, on_submit)
        while queue or suspects:
            if suspects:  # one at a time in the pool, so a death is this item's
                item = suspects.popleft()
                if on_submit is not None:
                    on_submit(item)
                yield item, self.run_one(fn, item)
                continue
            pending, finished = {}, []
            try:
                while queue and len(pending) < 2 * self.workers:  # at most 2 per worker in flight: bounded memory
                    future = submit(queue[0])  # popped only once submitted: never lost if the pool breaks
                    pending[future] = queue.popleft()
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        result = future.result()
                        yield pending.pop(future), result
                        if queue:
                            future = submit(queue[0])
                            pending[future] = queue.popleft()
            except BrokenProcessPool:
                finished = [(item, future.result()) for future, item in pending.items() if _finished(future)]
                suspects.extend(item for future, item in pending.items() if not _finished(future))
                self._restart()
            yield from finished  # completed before the pool broke: their results are good

    def run_one(self, fn, item):
        """fn(item) in a worker, alone; WorkerDied if the worker died doing it (the pool is then rebuilt)."""
        try:
            return self.pool.submit(fn, item).result()
        except BrokenProcessPool:
            self._restart()
            return WorkerDied()

    def _submitter(self, fn, on_submit):
        def submit(item):
            future = self.pool.submit(fn, item)
            if on_submit is not None:
                on_submit(item)
            return future
        return submit

    def _restart(self) -> None:
        """A new pool after a worker died; a pool whose workers cannot even start (a broken install, no memory
        at all) is an error, not a death to isolate item by item for ever."""
        self._stop(wait_for_workers=False)
        self._start()
        try:
            self.pool.submit(_alive).result(timeout=120)
        except (BrokenProcessPool, TimeoutError):
            self._stop(wait_for_workers=False)
            raise SimError("worker processes die as they start (see the messages above); run with --jobs 1 "
                           "(--executor serial) to see why. From a Python script, call sim.run_batch under "
                           "`if __name__ == \"__main__\":` (workers start by importing the script)") from None


def _alive() -> bool:
    return True


def _finished(future) -> bool:
    """A future that completed with a result before the pool broke (its result is still good)."""
    return future.done() and not future.cancelled() and future.exception() is None


def worker_settings() -> dict:
    """Dask settings for workers that run numpy-heavy chunks. Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its
    workers, which turns off glibc's dynamic mmap threshold, so every ~0.5 MB temporary array is mapped and
    unmapped again (many page faults); a fixed 16 MiB mmap threshold keeps them on the heap. The sampling
    profiler is off (it interrupts every 10 ms for a dashboard nobody opens). For a cluster started by hand,
    set the same: MALLOC_MMAP_THRESHOLD_=16777216 in the workers' environment (README)."""
    if os.environ.get("SIM_DASK_DEFAULTS"):  # (benchmarks/bench_dask.py: measure Dask's own settings)
        return {}
    return {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 16 * 2**20,
            "distributed.worker.profile.enabled": False}


class DaskExecutor:
    """A dask.distributed Client: to `scheduler` when given, else to a LocalCluster of `workers`."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise SimError("--executor dask needs dask.distributed: .venv/bin/pip install -e '.[dask]'") from None
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self.client = self.cluster = self.settings = None

    def __enter__(self):
        from dask.distributed import Client, LocalCluster
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout=SCHEDULER_TIMEOUT)
            except ValueError as error:
                raise SimError(f"--scheduler {self.scheduler}: not a scheduler address ({error}); expected "
                               "e.g. tcp://127.0.0.1:8786") from None
            except (OSError, TimeoutError) as error:
                raise SimError(f"the Dask scheduler at {self.scheduler} did not answer within "
                               f"{SCHEDULER_TIMEOUT} s ({type(error).__name__}); is it running, and is the "
                               "address right?") from None
            self.workers = max(1, sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values()))
        else:
            import dask

            # held until the cluster closes: a nanny that replaces a dead worker reads the settings again
            self.settings = dask.config.set(worker_settings())
            self.settings.__enter__()
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.settings.__exit__(None, None, None)
        return False

    def run(self, fn, items, on_submit=None):
        """(`on_submit` is not called: the items run on the cluster, not in this process or its children.)"""
        from dask.distributed import as_completed
        from distributed import KilledWorker

        items = list(items)
        futures = self.client.map(fn, items, pure=False)
        index = {future.key: item for future, item in zip(futures, items)}
        for future in as_completed(futures):
            try:
                result = future.result()
            except KilledWorker:  # Dask retried it on other workers; each died
                result = WorkerDied()
            yield index[future.key], result


class Executor(Protocol):
    """What runs the work: `with executor:` starts and stops it; run() yields (item, fn(item)) as items finish,
    in any order, a WorkerDied in place of a result whose item killed its worker. A new executor is a class
    with these and an entry in EXECUTORS (the command line's --executor choices come from there)."""

    workers: int

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc) -> bool: ...

    def run(self, fn: Callable, items: Iterable, on_submit=None) -> Iterator[tuple[object, object]]: ...


EXECUTORS: dict[str, Callable[[int | None, str | None], Executor]] = {  # name -> (workers, scheduler) -> executor
    "process": lambda workers, _: SerialExecutor() if workers == 1 else ProcessExecutor(workers),
    "dask": lambda workers, scheduler: DaskExecutor(scheduler, workers),
    "serial": lambda _, __: SerialExecutor(),
}


def make_executor(kind: str, workers: int | None, scheduler: str | None) -> Executor:
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise SimError(f"--jobs must be between 1 and {MAX_WORKERS}, found {workers}")
    if kind not in EXECUTORS:
        raise SimError(f"unknown executor '{kind}'; expected one of {', '.join(EXECUTORS)}")
    return EXECUTORS[kind](workers, scheduler)
