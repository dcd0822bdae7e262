"""The demo's process manager: `make run` starts web (gunicorn), a Celery worker and Celery beat through
`python -m psa.launcher --host H --port P`, and stops all three, with their children, on Ctrl-C or SIGTERM.

Each process gets a process group of its own, so a signal meant for the demo reaches the launcher only; the
launcher then sends SIGTERM to every group (gunicorn and the worker finish what they are doing), waits up to
PSA_LAUNCHER_GRACE_S seconds (20 by default) and SIGKILLs whatever is left. When one of the three stops by
itself the launcher stops the other two and exits with its code, so a demo is never half running. On Linux
each process is also told to receive SIGTERM if the launcher itself dies (even by SIGKILL).

Production runs the same commands under its own supervisor (systemd, Kubernetes); this module is only for
running everything from one terminal.
"""

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def commands(*, host: str, port: int) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    celery = [str(bin_dir / "celery"), "-A", "psa"]
    return {
        "web": [
            str(bin_dir / "gunicorn"), "psa.wsgi", "--bind", f"{host}:{port}", "--workers", "2", "--threads", "4",
            "--access-logfile", "-",
        ],
        "worker": [
            *celery, "worker", "--loglevel=INFO", "--pool=solo", "--without-mingle", "--without-gossip",
            "--without-heartbeat",
        ],
        "beat": [*celery, "beat", "--loglevel=INFO"],
    }  # fmt: skip


def _die_with_the_launcher() -> None:
    """Runs in the child before exec: SIGTERM when the launcher goes away, even when it is SIGKILLed."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _say(message: str) -> None:
    print(f"[launcher] {message}", flush=True)


def stop_all(children: dict[str, subprocess.Popen], *, grace_s: float) -> None:
    """SIGTERM every process group, wait up to `grace_s` for the groups to empty, then SIGKILL the rest."""
    for proc in children.values():
        _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        for proc in children.values():
            proc.poll()  # reap the group leaders as they exit
        if not any(_group_alive(proc.pid) for proc in children.values()):
            return
        time.sleep(0.1)
    for name, proc in children.items():
        if _group_alive(proc.pid):
            _say(f"{name} did not stop within {grace_s:g} s: killing it")
            _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()


def run(*, host: str, port: int, grace_s: float) -> int:
    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)

    # Installed explicitly: a launcher started in the background has SIGINT ignored, and Ctrl-C must still stop it.
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    children: dict[str, subprocess.Popen] = {}
    exit_code = 0
    try:
        for name, cmd in commands(host=host, port=port).items():
            if received:
                break
            # the commands are fixed above, from this interpreter's own bin directory
            children[name] = subprocess.Popen(  # noqa: S603
                cmd, start_new_session=True, preexec_fn=_die_with_the_launcher
            )
            _say(f"{name} started, pid {children[name].pid}")
        while not received:
            ended = [(name, proc.returncode) for name, proc in children.items() if proc.poll() is not None]
            if ended:
                name, code = ended[0]
                _say(f"{name} stopped by itself (exit code {code}): stopping the others")
                exit_code = code or 1
                break
            time.sleep(0.2)
        if received:
            _say(f"{signal.Signals(received[0]).name}: stopping web, worker and beat")
    finally:
        stop_all(children, grace_s=grace_s)
    _say("stopped")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    grace_s = float(os.environ.get("PSA_LAUNCHER_GRACE_S", "20"))
    return run(host=args.host, port=args.port, grace_s=grace_s)


if __name__ == "__main__":
    sys.exit(main())
