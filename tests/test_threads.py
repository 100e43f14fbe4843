"""num_threads, concurrent calls from Python threads, and fork safety.

What is required (decided here, from DESIGN.md "Threads"):

* Many rows along the last axis: each row is done by one thread with the
  same kernel whatever ``num_threads`` is, so results for 1, 2 and 4 threads
  are **bitwise identical**.
* Columns (reduced axis not last) and single long rows, which a team may split
  with partial (max, sum) pairs merged: the split changes only how partial sums
  associate, so results for 1, 2 and 4 threads agree **within the accuracy
  table's ULP bound** (the same tolerance as layout independence), and each
  meets the contract against the reference.
* The same call is deterministic: repeated serially or from 8 Python threads
  at once, it gives **bitwise** the same result.
"""

import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import reference as ref
from helpers import NAMES, call, random_array

import fastsoftmax as fs


def _ids(v):
    return getattr(v, "__name__", str(v))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_many_rows_bitwise_equal_across_thread_counts(name, dtype, isa, rng):
    x = random_array(rng, (512, 300), dtype)
    base = call(name, x, axis=-1, num_threads=1)
    for nt in (2, 4, None):
        got = call(name, x, axis=-1, num_threads=nt)
        np.testing.assert_array_equal(got, base, err_msg=f"{isa} num_threads={nt}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_columns_and_long_rows_across_thread_counts(name, dtype, isa, rng):
    bound = ref.ULP_BOUNDS[name][np.dtype(dtype).name]
    cases = {
        "columns": (random_array(rng, (3000, 64), dtype), 0),
        "long rows": (random_array(rng, (2, 200_000), dtype), -1),
        "one long row": (random_array(rng, (400_000,), dtype), None),
    }
    for label, (x, axis) in cases.items():
        results = {nt: call(name, x, axis=axis, num_threads=nt) for nt in (1, 2, 4)}
        for nt in (2, 4):
            dist = ref.ulp_distance(results[nt], results[1], dtype).max()
            assert dist <= bound, (
                f"{isa} {label}: num_threads={nt} differs from 1 thread by {dist} ULP"
            )
        want, allowance, bound = ref.expected_with_allowance(name, x, dtype, axis=axis)
        for nt, got in results.items():
            ref.assert_ulp_close(
                got, want, bound, allowance, context=f"{name} {isa} {label} num_threads={nt}"
            )


def test_num_threads_does_not_change_the_global_setting(rng):
    before = fs.runtime()["max_threads"]
    x = random_array(rng, (256, 1000), np.float64)
    for nt in (1, 3):
        fs.softmax(x, axis=-1, num_threads=nt)
        assert fs.runtime()["max_threads"] == before


def test_threadpoolctl_limits_the_default(rng):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl not installed")
    if not fs.runtime()["openmp"]:
        pytest.skip("built without OpenMP")
    x = random_array(rng, (256, 1000), np.float64)
    fs.softmax(x, axis=-1)  # make sure the OpenMP runtime is loaded and started
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fs.runtime()["max_threads"] == 1
        np.testing.assert_array_equal(fs.softmax(x, axis=-1), fs.softmax(x, axis=-1, num_threads=1))


# --------------------------------------------------------------------------
# many Python threads at once
# --------------------------------------------------------------------------
def _tasks(rng):
    tasks = []
    for dtype in (np.float32, np.float64):
        x = random_array(rng, (200, 257), dtype)
        long_row = random_array(rng, (200_000,), dtype)
        for name in NAMES:
            tasks.append((name, x, {"axis": -1}))
            tasks.append((name, x, {"axis": 0, "num_threads": 2}))
            tasks.append((name, long_row, {"num_threads": 2}))
    return tasks


def test_concurrent_calls_from_8_threads_equal_serial(rng):
    tasks = _tasks(rng)
    serial = [call(name, x, **kw) for name, x, kw in tasks]
    n_workers = 8
    barrier = threading.Barrier(n_workers)

    def worker(k):
        barrier.wait()
        order = np.random.default_rng(k).permutation(len(tasks))
        out = {}
        for _ in range(2):
            for i in order:
                name, x, kw = tasks[i]
                out.setdefault(i, []).append(call(name, x, **kw))
        return out

    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        results = list(pool.map(worker, range(n_workers)))
    for k, out in enumerate(results):
        for i, got_list in out.items():
            for got in got_list:
                name, _, kw = tasks[i]
                np.testing.assert_array_equal(got, serial[i], err_msg=f"thread {k}: {name} {kw}")


def test_concurrent_out_arguments_do_not_mix(rng):
    """8 threads each write into their own out= array at the same time."""
    xs = [random_array(rng, (300, 200), np.float64, scale=k + 1) for k in range(8)]
    want = [fs.log_softmax(x, axis=-1) for x in xs]
    outs = [np.empty_like(x) for x in xs]
    barrier = threading.Barrier(8)

    def worker(k):
        barrier.wait()
        for _ in range(5):
            fs.log_softmax(xs[k], axis=-1, out=outs[k])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    for k in range(8):
        np.testing.assert_array_equal(outs[k], want[k], err_msg=f"thread {k}")


# --------------------------------------------------------------------------
# fork after a parallel region
# --------------------------------------------------------------------------
FORK_CODE = """
    import os, signal, sys
    import numpy as np
    import fastsoftmax as fs
    x = np.random.default_rng(0).standard_normal((4000, 500))
    fs.softmax(x, axis=-1, num_threads=2)   # parallel region in the parent
    fs.logsumexp(x.ravel(), num_threads=2)  # a long row split across threads
    pid = os.fork()
    if pid == 0:
        signal.alarm(10)  # a hung child dies instead of lingering
        y = fs.softmax(x, axis=-1)
        z = fs.logsumexp(x.ravel())
        ok = np.allclose(y.sum(axis=-1), 1.0) and np.isfinite(z)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        print("child killed by signal", os.WTERMSIG(status))
        sys.exit(2)
    print("child exit", os.WEXITSTATUS(status))
    sys.exit(os.WEXITSTATUS(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_parallel_region_does_not_hang(tmp_path):
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FORK_CODE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, (
        f"forked child failed or hung (SIGALRM=14): {res.stdout} {res.stderr[-2000:]}"
    )
