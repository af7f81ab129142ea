"""A small process that starts the measured commands and reports their wall time and peak RSS.

Why: on Linux a child's peak RSS (``ru_maxrss``) includes the RSS of the process that forked
it, because ``exec`` records the old address space's high-water mark. Spawning from the
benchmark process (which grows to hundreds of MB while it fills a 100,000-task store) would
report that size for every command. This spawner is started once at the beginning with
``python -S -I`` (stdlib only, a few MB) and forks every measured command itself, so what
it reports is the command's own peak (or this process's few MB, whichever is larger).

Protocol: one JSON object per line on stdin
``{"argv", "env", "cwd", "stdin", "stdout", "stderr", "timeout"}`` (file paths), one JSON
line back per request ``{"wall", "cpu", "maxrss_kb", "returncode", "timed_out"}`` (``cpu``:
the child's user plus system CPU seconds).
"""

import json
import os
import signal
import sys
import time


def _run(req: dict) -> dict:
    stdin_fd = os.open(req.get("stdin") or os.devnull, os.O_RDONLY)
    out_fd = os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err_fd = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    argv = req["argv"]
    env = req.get("env")
    cwd = req.get("cwd")
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.dup2(stdin_fd, 0)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            if cwd:
                os.chdir(cwd)
            if env is None:
                os.execvp(argv[0], argv)
            else:
                os.execvpe(argv[0], argv, env)
        except BaseException as exc:  # noqa: BLE001 - report and leave the child
            os.write(2, f"spawn failed: {exc}\n".encode())
        os._exit(127)
    for fd in (stdin_fd, out_fd, err_fd):
        os.close(fd)
    killed = []

    def on_alarm(signum, frame):
        killed.append(True)
        os.kill(pid, signal.SIGKILL)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(req.get("timeout") or 120))
    try:
        _, status, usage = os.wait4(pid, 0)  # blocks; the alarm kills a hung child
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
        "returncode": os.waitstatus_to_exitcode(status),
        "timed_out": bool(killed),
    }


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = _run(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - the caller reports it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
