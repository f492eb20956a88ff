"""Scale-out on Dask distributed: chunks of cases as tasks, retried when a worker is lost.

Dask is imported here only, when a campaign asks for ``--workers`` or ``--scheduler``.
Each chunk is one task (``run.run_chunk``); ``retries`` resubmits a chunk whose worker died
mid-run, so no case is lost. Results come back as they finish and are kept by case index,
so their order does not matter.

Ctrl-C reaches every process of the terminal's foreground group, the local workers
included. Here only this process acts on it:

- this process's Ctrl-C handler only sets a flag (a KeyboardInterrupt raised straight from
  the signal can land in a Dask ``Future.__del__`` and be lost); the loop over results
  turns it into KeyboardInterrupt between results, within 0.1 s;
- a local worker ignores Ctrl-C (:mod:`difflab.fuzz.worker_setup`, a Dask preload), and
  the local workers' stderr is discarded (it is set to the null device while they start):
  a worker's traceback or lost connection when the campaign is stopped is noise, and its
  results and errors come back through Dask;
- the stop cancels the unfinished tasks, silences Dask's and Tornado's loggers, kills the
  local worker processes outright (their chunks in progress are lost; finished ones are
  kept) and closes client and scheduler with short timeouts.

So ``difflab fuzz --workers K`` stops in a second or two with the results so far and one
``interrupted`` line. A Ctrl-C while the cluster starts takes effect once it is up.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from ..errors import InputError
from .run import Spec, run_chunk

#: Times a chunk is resubmitted after its worker is lost.
RETRIES = 3
INSTALL = "pip install 'difflab[cluster]'"
#: The preload that makes a local worker ignore Ctrl-C.
PRELOAD = "difflab.fuzz.worker_setup"
#: Seconds the close of a client or cluster may take once a campaign is stopped.
CLOSE_SECONDS = 2.0
#: How often the loop over results looks at the Ctrl-C flag while no result is ready.
POLL_SECONDS = 0.1


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
    cluster whose scheduler is at ``scheduler``; closed afterwards, at once when an
    exception (Ctrl-C) ends the campaign."""
    distributed = _distributed()
    logging.getLogger("distributed").setLevel(logging.ERROR)  # no worker chatter on stderr
    if scheduler is not None:
        try:
            c = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach a Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield c
        except BaseException:
            stop_now(c, None)
            raise
        c.close()
        return
    cluster = c = None
    with ctrl_c_flag() as stopped:
        try:
            with _stderr_discarded():  # the workers' stderr, for good
                cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR, preload=[PRELOAD])
            c = distributed.Client(cluster)
        except BaseException:
            stop_now(c, cluster)
            if stopped.is_set():
                raise KeyboardInterrupt from None
            raise
    if stopped.is_set():
        stop_now(c, cluster)
        raise KeyboardInterrupt
    try:
        yield c
    except BaseException:
        stop_now(c, cluster)
        raise
    c.close()
    cluster.close()


@contextlib.contextmanager
def ctrl_c_flag():
    """An Event that Ctrl-C sets instead of raising KeyboardInterrupt (in the main thread;
    elsewhere Ctrl-C is left as it is and the Event is never set)."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    try:
        yield stopped
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _stderr_discarded():
    """File descriptor 2 on the null device meanwhile: processes started inside keep it."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def stop_now(c, cluster) -> None:
    """Stop a campaign's Dask side without waiting on busy workers and without a word on
    stderr: the loggers silenced, the local workers told not to restart and killed, then
    short closes; a further Ctrl-C meanwhile is ignored."""
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    with ctrl_c_flag():
        for nanny in list(getattr(cluster, "workers", {}).values()):
            with contextlib.suppress(Exception):
                nanny.close_gracefully("difflab fuzz stopped")  # no restart when killed
            pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        for closing in (c, cluster):
            if closing is not None:
                with contextlib.suppress(Exception):
                    closing.close(timeout=CLOSE_SECONDS)


def run_on(c, spec: Spec, on_chunk: Callable | None = None, retries: int = RETRIES) -> None:
    """Every chunk of ``spec`` as a task on client ``c``; ``on_chunk(results)`` as each ends.
    Ctrl-C is KeyboardInterrupt between two results (see the module's note)."""
    distributed = _distributed()
    futures = [c.submit(run_chunk, spec, chunk, retries=retries, pure=False,
                        key=f"difflab-fuzz-{spec.seed}-{chunk[0]}-{id(spec)}")
               for chunk in spec.chunks()]
    try:
        with ctrl_c_flag() as stopped:
            finished = distributed.as_completed(futures)
            while not finished.is_empty() and not stopped.is_set():
                if not finished.has_ready():
                    stopped.wait(POLL_SECONDS)
                    continue
                for future in finished.next_batch(block=False):
                    results = future.result()
                    if on_chunk is not None:
                        on_chunk(results)
                    if stopped.is_set():
                        break
            if stopped.is_set():
                raise KeyboardInterrupt
    except BaseException:
        for name in ("distributed", "tornado"):  # Dask's own errors while it is torn down
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        with contextlib.suppress(Exception):
            c.cancel(futures, asynchronous=False)
        raise
