"""Scale-out on Dask distributed: chunks of cases as tasks, retried when a worker is lost.

Dask is imported here only, when a campaign asks for ``--workers`` or ``--scheduler``.
Each chunk is one task (``run.run_chunk``); ``retries`` resubmits a chunk whose worker died
mid-run, so no case is lost. Results come back as they finish and are kept by case index,
so their order does not matter. On Ctrl-C the tasks not finished are cancelled and what
came back is reported.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable

from ..errors import InputError
from .run import Spec, run_chunk

#: Times a chunk is resubmitted after its worker is lost.
RETRIES = 3
INSTALL = "pip install 'difflab[cluster]'"


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(f"--workers and --scheduler need Dask distributed, which is not "
                         f"installed: {INSTALL}") from None
    return distributed


@contextlib.contextmanager
def client(workers: int | None = None, scheduler: str | None = None, timeout: float = 20.0):
    """A Dask client: a LocalCluster of ``workers`` processes (one thread each), or the
    cluster whose scheduler is at ``scheduler``; closed afterwards."""
    distributed = _distributed()
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)  # no worker chatter on stderr
    if scheduler is not None:
        try:
            c = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach a Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield c
        finally:
            c.close()
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def run_on(c, spec: Spec, on_chunk: Callable | None = None, retries: int = RETRIES) -> None:
    """Every chunk of ``spec`` as a task on client ``c``; ``on_chunk(results)`` as each ends."""
    distributed = _distributed()
    futures = [c.submit(run_chunk, spec, chunk, retries=retries, pure=False,
                        key=f"difflab-fuzz-{spec.seed}-{chunk[0]}-{id(spec)}")
               for chunk in spec.chunks()]
    try:
        for future in distributed.as_completed(futures):
            results = future.result()
            if on_chunk is not None:
                on_chunk(results)
    except BaseException:
        c.cancel(futures)
        raise
