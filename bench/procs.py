"""`minyi` commands as child processes, the way the benchmarks and the process tests run them."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stop(proc: subprocess.Popen[bytes], patience: float) -> None:
    """SIGTERM, `patience` seconds to finish what it holds, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=patience)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def started(env: dict[str, str], log: Path, *args: str,
            patience: float = 60.0) -> Iterator[subprocess.Popen[bytes]]:
    """`minyi ARGS` running with `env`, its output in `log`; stopped (`stop`) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "minyi", *args], env=env, cwd=ROOT,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        stop(proc, patience)


def output(env: dict[str, str], *args: str, timeout: float) -> str:
    """What `minyi ARGS` printed; RuntimeError, with what it said, when it failed."""
    done = subprocess.run([sys.executable, "-m", "minyi", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"minyi {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout
