"""Threads, thread limits, fork and KeyboardInterrupt, for every function in
``battery.ENTRIES`` (tests/test_threads.py covers the softmax family's
thread-count determinism; this file adds the other functions, OS-level
thread counts, fork pools and interrupts).

Subprocess tests are bounded by timeouts, so a hang fails instead of
blocking the suite.
"""

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from battery import ENTRIES

import fastsoftmax as fs

HAS_FORK = hasattr(os, "fork")
LINUX_TASKS = os.path.isdir("/proc/self/task")


def _run_child(code, tmp_path, *args, timeout=120, env=None):
    """Run ``code`` in a fresh interpreter (argv[1:] = args); bounded by ``timeout``."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _tasks(rng):
    """(entry, input, axis, extra kwargs) covering rows, columns and long rows."""
    out = []
    for dtype in (np.float32, np.float64):
        rows = (rng.standard_normal((300, 129)) * 4).astype(dtype)
        long_row = (rng.standard_normal((2, 70_000)) * 4).astype(dtype)
        for e in ENTRIES:
            out.append((e, rows, -1, {}))
            out.append((e, rows, 0, {"num_threads": 2}))
            out.append((e, long_row, -1, {"num_threads": 2}))
            if e.out_arg == "grad_out":
                out.append((e, rows, -1, {"return_grad": True, "reduction": "sum"}))
    return out


def _as_list(result):
    return list(result) if isinstance(result, tuple) else [result]


def test_8_threads_at_once_equal_serial_for_every_function(rng):
    tasks = _tasks(rng)
    serial = [_as_list(e.call(x, axis=ax, **kw)) for e, x, ax, kw in tasks]
    inputs_before = [x.copy() for _, x, _, _ in tasks]
    barrier = threading.Barrier(8)

    def worker(k):
        barrier.wait()
        order = np.random.default_rng(k).permutation(len(tasks))
        return {int(i): _as_list(tasks[i][0].call(tasks[i][1], axis=tasks[i][2], **tasks[i][3]))
                for i in order}

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    for k, res in enumerate(results):
        for i, got in res.items():
            e, _, ax, kw = tasks[i]
            for g, s in zip(got, serial[i], strict=True):
                np.testing.assert_array_equal(g, s, err_msg=f"thread {k}: {e.name} {ax} {kw}")
    for (_, x, _, _), before in zip(tasks, inputs_before, strict=True):
        np.testing.assert_array_equal(x, before)


def test_8_threads_writing_grad_out_in_place(rng):
    """cross_entropy(grad_out=logits) from 8 threads, each on its own array."""
    xs = [rng.standard_normal((257, 33)) for _ in range(8)]
    ts = [rng.integers(0, 33, 257) for _ in range(8)]
    want = [fs.cross_entropy(x, t, return_grad=True) for x, t in zip(xs, ts, strict=True)]
    work = [x.copy() for x in xs]
    barrier = threading.Barrier(8)

    def worker(k):
        barrier.wait()
        return fs.cross_entropy(work[k], ts[k], grad_out=work[k])

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(worker, range(8)))
    for k in range(8):
        assert got[k][0] == want[k][0]
        assert got[k][1] is work[k]
        np.testing.assert_array_equal(work[k], want[k][1])


# --------------------------------------------------------------------------
# num_threads and threadpoolctl, seen from the OS
# --------------------------------------------------------------------------
THREAD_COUNT_CODE = """
    import os, sys, json
    import numpy as np
    import fastsoftmax as fs
    tasks = lambda: len(os.listdir("/proc/self/task"))
    x = np.random.default_rng(0).standard_normal((2000, 1000))
    report = {"start": tasks()}
    mode = sys.argv[1]
    if mode == "limit":
        import threadpoolctl
        info = [d for d in threadpoolctl.threadpool_info() if d["user_api"] == "openmp"]
        report["openmp_seen"] = bool(info)
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            report["max_threads"] = fs.runtime()["max_threads"]
            for e in (fs.softmax, fs.log_softmax, fs.logsumexp):
                e(x, axis=-1)
            fs.cross_entropy(x, np.zeros(2000, int))
            report["after"] = tasks()
    else:
        n = int(mode)
        for e in (fs.softmax, fs.log_softmax, fs.logsumexp):
            e(x, axis=-1, num_threads=n)
        fs.cross_entropy(x, np.zeros(2000, int), num_threads=n)
        report["after"] = tasks()
    print(json.dumps(report))
"""


@pytest.mark.skipif(not LINUX_TASKS, reason="needs /proc/self/task to count threads")
@pytest.mark.parametrize("n", [1, 3])
def test_num_threads_caps_the_os_threads_started(tmp_path, n):
    if not fs.runtime()["openmp"]:
        pytest.skip("built without OpenMP")
    env = dict(os.environ, OMP_NUM_THREADS="4")
    res = _run_child(THREAD_COUNT_CODE, tmp_path, str(n), env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    rep = json.loads(res.stdout)
    # An OpenMP team of n threads is the caller plus n - 1 workers.
    assert rep["after"] - rep["start"] == n - 1, rep


@pytest.mark.skipif(not LINUX_TASKS, reason="needs /proc/self/task to count threads")
def test_threadpoolctl_sees_and_limits_the_openmp_runtime(tmp_path):
    pytest.importorskip("threadpoolctl", reason="threadpoolctl not installed")
    if not fs.runtime()["openmp"]:
        pytest.skip("built without OpenMP")
    env = dict(os.environ, OMP_NUM_THREADS="4")
    res = _run_child(THREAD_COUNT_CODE, tmp_path, "limit", env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    rep = json.loads(res.stdout)
    assert rep["openmp_seen"], "threadpoolctl does not see the OpenMP runtime"
    assert rep["max_threads"] == 1
    assert rep["after"] == rep["start"], f"threads were started under a limit of 1: {rep}"


# --------------------------------------------------------------------------
# fork
# --------------------------------------------------------------------------
FORK_POOL_CODE = """
    import multiprocessing as mp, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from battery import ENTRIES
    import fastsoftmax as fs

    X = np.random.default_rng(1).standard_normal((3000, 300))

    def work(i, num_threads=None):
        e = ENTRIES[i % len(ENTRIES)]
        r = e.call(X, axis=-1, num_threads=num_threads)
        return float(np.sum(r)), fs._core.default_threads()

    if __name__ == "__main__":
        for i in range(len(ENTRIES)):
            work(i, num_threads=2)  # parallel regions in the parent
        # A child runs serially: bitwise the serial result (a summed loss
        # differs in rounding between thread counts).
        want = [work(i, num_threads=1)[0] for i in range(len(ENTRIES))]
        ctx = mp.get_context("fork")
        with ctx.Pool(2) as pool:
            got = pool.map(work, range(4 * len(ENTRIES)))
        for i, (s, nthreads) in enumerate(got):
            assert s == want[i % len(ENTRIES)], (i, s)
            assert nthreads == 1, "a forked child must run serially"
        print("ok")
"""


@pytest.mark.skipif(not HAS_FORK, reason="needs os.fork")
def test_fork_pool_after_parallel_calls_every_function(tmp_path):
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    script = tmp_path / "fork_pool.py"
    script.write_text(textwrap.dedent(FORK_POOL_CODE))
    env = dict(os.environ, OMP_NUM_THREADS="2")
    res = subprocess.run([sys.executable, str(script), tests_dir], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-3000:]


@pytest.mark.skipif(not HAS_FORK, reason="needs os.fork")
def test_fork_while_another_thread_is_in_a_kernel(tmp_path):
    """fork() while a second thread runs a long parallel call: the child still works."""
    code = """
        import os, signal, sys, threading
        import numpy as np
        import fastsoftmax as fs
        x = np.random.default_rng(0).standard_normal((4000, 2000))
        stop = threading.Event()
        def busy():
            while not stop.is_set():
                fs.softmax(x, axis=-1, num_threads=2)
        t = threading.Thread(target=busy)
        t.start()
        codes = []
        for _ in range(5):
            pid = os.fork()
            if pid == 0:
                signal.alarm(20)
                y = fs.log_softmax(x[:100], axis=-1)
                l = fs.cross_entropy(x[:100], np.zeros(100, int))
                os._exit(0 if np.all(np.isfinite(y)) and np.isfinite(l) else 1)
            codes.append(os.waitpid(pid, 0)[1])
        stop.set()
        t.join()
        print(codes)
        sys.exit(0 if all(c == 0 for c in codes) else 1)
    """
    res = _run_child(code, tmp_path, timeout=180, env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert res.returncode == 0, f"statuses {res.stdout} (14: SIGALRM, hung) {res.stderr[-2000:]}"


# --------------------------------------------------------------------------
# KeyboardInterrupt
# --------------------------------------------------------------------------
INTERRUPT_CODE = """
    import signal, sys, time
    import numpy as np
    # A shell's background job inherits SIGINT ignored; Python then keeps it so.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, sys.argv[1])
    from battery import ENTRIES
    import fastsoftmax as fs

    small = np.random.default_rng(2).standard_normal((64, 65))
    want = [e.call(small, axis=-1) for e in ENTRIES]
    big = np.random.default_rng(3).standard_normal((2000, 4000))
    out = np.empty_like(big)
    print("ready", flush=True)
    interrupted = 0
    for i in range(200):
        try:
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < 60:
                ENTRIES[i % len(ENTRIES)].call(big, axis=-1, num_threads=2)
                fs.softmax(big, axis=0, out=out)
        except KeyboardInterrupt:
            interrupted += 1
            got = [e.call(small, axis=-1) for e in ENTRIES]
            for g, w in zip(got, want):
                np.testing.assert_array_equal(g, w)
            print("checked", interrupted, flush=True)
            if interrupted == 3:
                break
    np.testing.assert_array_equal(out, fs.softmax(big, axis=0))
    print("ok", interrupted, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process needs POSIX")
def test_keyboard_interrupt_during_long_calls_leaves_state_sound(tmp_path):
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(INTERRUPT_CODE), tests_dir], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, OMP_NUM_THREADS="2"),
    )
    def readline(timeout=120):
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        assert ready, "the child did not answer in time"
        return proc.stdout.readline().strip()

    try:
        assert readline() == "ready"
        for k in range(1, 4):
            threading.Event().wait(0.3)  # land somewhere inside a kernel call
            proc.send_signal(signal.SIGINT)
            line = readline()
            assert line == f"checked {k}", line
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and out.strip() == "ok 3", err[-2000:]
