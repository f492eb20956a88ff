"""difflab fuzz on Dask: the same results in one process, on a LocalCluster and through a
scheduler with two workers started as subprocesses; a worker killed mid-run loses no case.

Slow (a cluster takes seconds to start): run with ``-m slow``.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
CAMPAIGN = ["fuzz", "--cases", "40", "--seed", "9", "--methods", "forward,reverse,fd-central",
            "--kinds", "gradient,hessian,jvp", "--chunk", "4", "--json"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _difflab(*argv, timeout=300):
    done = subprocess.run([sys.executable, "-m", "difflab", *argv], capture_output=True, text=True, check=False,
                          env=_env(), cwd=ROOT, timeout=timeout)
    return done.returncode, json.loads(done.stdout), done.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Cluster:
    """``dask scheduler`` and ``dask worker`` subprocesses on localhost."""

    def __init__(self, workers=2):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        port = self.address.rsplit(":", 1)[1]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": _env(), "cwd": ROOT}
        self.scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port,
                                           "--no-dashboard"], **quiet)
        self.workers = [subprocess.Popen([str(DASK), "worker", self.address, "--nthreads", "1",
                                          "--no-dashboard"], **quiet) for _ in range(workers)]
        self._wait(workers)

    def _wait(self, workers):
        from distributed import Client

        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with Client(self.address, timeout=5) as c:
                    if len(c.scheduler_info()["workers"]) >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the Dask cluster did not start")

    def close(self):
        for p in self.workers + [self.scheduler]:
            if p.poll() is None:
                p.kill()
            p.wait()


@pytest.fixture
def cluster():
    c = _Cluster()
    yield c
    c.close()


def _results(doc):
    return {k: v for k, v in doc.items() if k != "timing"}


def test_same_results_in_process_on_workers_and_through_a_scheduler(cluster):
    code, one, _ = _difflab(*CAMPAIGN)
    code2, local, _ = _difflab(*CAMPAIGN, "--workers", "2")
    code3, remote, _ = _difflab(*CAMPAIGN, "--scheduler", cluster.address)
    assert one["cases"] == 40 and not one["interrupted"]
    assert _results(one) == _results(local) == _results(remote)
    assert code == code2 == code3
    assert local["timing"]["where"] == "local cluster of 2"
    assert remote["timing"]["where"] == f"scheduler {cluster.address}"
    for doc in (one, local, remote):  # the throughput figures docs/fuzz.md quotes
        t = doc["timing"]
        print(f"{t['where']}: {t['cases_per_second']:.2f} cases/s, oracle {100 * t['oracle_share']:.0f}%")


def test_a_worker_lost_mid_run_loses_no_case(cluster):
    """One worker is killed while chunks are running; its chunks are run again elsewhere."""
    from distributed import Client

    argv = ["fuzz", "--cases", "300", "--seed", "9", "--methods", "forward,reverse,fd-central",
            "--kinds", "gradient,hessian", "--chunk", "2", "--json"]
    result = {}

    def campaign():
        result["out"] = _difflab(*argv, "--scheduler", cluster.address)

    thread = threading.Thread(target=campaign)
    thread.start()
    with Client(cluster.address, timeout=30) as client:  # wait until chunks are on the workers
        deadline = time.time() + 120
        while not any(client.processing().values()) and time.time() < deadline:
            time.sleep(0.05)
        assert thread.is_alive() and any(client.processing().values()), "the campaign never got under way"
    cluster.workers[0].kill()
    thread.join(300)
    _code, doc, err = result["out"]
    assert doc["cases"] == 300 and not doc["interrupted"], err
    _, reference, _ = _difflab(*argv)
    assert _results(doc) == _results(reference)


def test_an_unreachable_scheduler_is_one_error_line():
    done = subprocess.run([sys.executable, "-m", "difflab", "fuzz", "--cases", "2", "--methods", "forward",
                           "--scheduler", f"tcp://127.0.0.1:{_free_port()}"], capture_output=True, check=False,
                          text=True, env=_env(), cwd=ROOT, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach a Dask scheduler"), done.stderr


def test_ctrl_c_on_a_local_cluster_is_one_line_exit_130_and_keeps_the_results():
    """Ctrl-C as a terminal sends it: SIGINT to the whole process group, workers included,
    while chunks are running. One line on stderr (no Dask log line, no traceback from any
    process), exit 130, the finished cases in the JSON, and no worker process left."""
    import psutil

    argv = [sys.executable, "-m", "difflab", "fuzz", "--workers", "2", "--cases", "5000",
            "--seed", "3", "--methods", "forward,reverse", "--kinds", "gradient", "--chunk", "1",
            "--json"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=ROOT, start_new_session=True)
    parent = psutil.Process(proc.pid)
    workers = []
    deadline = time.time() + 180  # a guard against a hang, not a measurement
    while time.time() < deadline and proc.poll() is None:
        workers = [p for p in parent.children() if "spawn_main" in " ".join(p.cmdline())]
        try:
            if len(workers) == 2 and all(w.cpu_times().user > 3.0 for w in workers):
                break  # both workers have done seconds of work: chunks have come back
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.2)
    assert proc.poll() is None and len(workers) == 2, "the campaign never got under way"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == "error: interrupted\n"
    doc = json.loads(out)
    assert doc["interrupted"] and 0 < doc["cases"] < 5000
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
