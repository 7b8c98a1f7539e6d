"""Executors: one small interface (run chunks, yield results as they finish) over a serial
loop, a local process pool, or a Dask cluster. Nothing else knows which one runs."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterable, Iterator

from sim.errors import SimError


class SerialExecutor:
    workers = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, fn: Callable, items: Iterable) -> Iterator[tuple[object, object]]:
        for item in items:
            yield item, fn(item)


class ProcessExecutor:
    """A pool of `workers` processes (spawned: no fork of the parent's state)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self):
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)
        return False

    def run(self, fn, items):
        items = list(items)
        pending = {}
        queue = iter(items)
        for item in queue:  # keep at most 2 chunks per worker in flight: bounded memory
            pending[self.pool.submit(fn, item)] = item
            if len(pending) >= 2 * self.workers:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                yield item, future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending[self.pool.submit(fn, nxt)] = nxt


class DaskExecutor:
    """A dask.distributed Client: to `scheduler` when given, else to a LocalCluster of `workers`."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise SimError("--executor dask needs dask.distributed: .venv/bin/pip install -e '.[dask]'") from None
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self.client = self.cluster = None

    def __enter__(self):
        from dask.distributed import Client, LocalCluster
        if self.scheduler:
            self.client = Client(self.scheduler)
            self.workers = max(1, sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values()))
        else:
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False

    def run(self, fn, items):
        from dask.distributed import as_completed

        items = list(items)
        futures = self.client.map(fn, items, pure=False)
        index = {future.key: item for future, item in zip(futures, items)}
        for future, result in as_completed(futures, with_results=True):
            yield index[future.key], result


def make_executor(kind: str, workers: int | None, scheduler: str | None):
    if kind == "serial" or (kind == "process" and workers == 1):
        return SerialExecutor()
    if kind == "process":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise SimError(f"unknown executor '{kind}'; expected serial, process or dask")
