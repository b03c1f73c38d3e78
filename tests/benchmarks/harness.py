"""The benchmark harness: settings, the prepared database, timing, and the JSON lines.

Environment:
- BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/helpdesk_bench): kept
  between runs; data sets are built once per scale and reused (see `prepared`).
- BENCH_REDIS_URL (default redis://127.0.0.1:6379/14).
- BENCH_SCALE (default 1.0): 1.0 means the sizes of docs/benchmarks.md (1,000,000 tickets);
  0.1 runs ten times smaller for a quick check.
"""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/helpdesk_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def configure_environment() -> None:
    """Production-like settings (DEBUG off) on the benchmark database; before django.setup()."""
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
    os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("HELPDESK_CUSTOMER_NOTICES", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


@dataclass(frozen=True)
class Metric:
    metric: str
    value: float
    unit: str
    n: int
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        value = round(self.value, 3)
        data = {"metric": self.metric, "value": value, "unit": self.unit, "n": self.n}
        return json.dumps({**data, **self.extra})

    @classmethod
    def from_line(cls, line: str) -> "Metric":
        """The metric a child process printed with `line()`."""
        data = json.loads(line)
        extra = {k: v for k, v in data.items() if k not in ("metric", "value", "unit", "n")}
        return cls(data["metric"], data["value"], data["unit"], data["n"], extra)


def metrics_of_child(module: str, env: dict[str, str]) -> Iterator[Metric]:
    """Run a benchmark module's measured part (`python -m <module> --child`) in a process of
    its own with `env`, and read back the metrics it printed, one JSON line each."""
    command = [sys.executable, "-m", module, "--child"]
    child = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command, child.stdout)
    for line in child.stdout.splitlines():
        yield Metric.from_line(line)


@dataclass
class Context:
    scale: float

    def scaled(self, full_size: int, minimum: int = 1) -> int:
        """A size of the full benchmark, times BENCH_SCALE."""
        return max(minimum, int(full_size * self.scale))

    def log(self, text: str) -> None:
        """Progress for the person watching (stderr; stdout is the JSON lines)."""
        print(f"[bench] {text}", file=sys.stderr, flush=True)


def in_scratch_folder(
    prefix: str, measure: Callable[[str], Iterator["Metric"]]
) -> Iterator["Metric"]:
    """`measure`'s metrics, run with a scratch folder of its own, removed afterwards."""
    folder = scratch_folder(prefix)
    try:
        yield from measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def scratch_folder(prefix: str) -> str:
    """A new folder for a run's files (media, logs): under the project's DATA_DIR, where the
    help desk keeps its files, or the system's temporary folder, whichever creates files
    cheaper on this machine (BENCH_SCRATCH names one instead). On these machines something
    watches one folder or the other: creating a file cost about 0.8 ms of CPU in /tmp one
    day and in the project's folder another, against 0.05 ms elsewhere on the same disk,
    which made storing attachments look twenty times dearer than it is."""
    parent = Path(os.environ.get("BENCH_SCRATCH") or _cheapest_parent())
    parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


_cheapest: list[Path] = []


def _cheapest_parent() -> Path:
    from django.conf import settings

    if not _cheapest:
        candidates = [
            Path(settings.DATA_DIR).resolve() / "bench",  # servers run from another folder
            Path(tempfile.gettempdir()) / "helpdesk-bench",
        ]
        _cheapest.append(min(candidates, key=_file_creation_cpu))
    return _cheapest[0]


def _file_creation_cpu(parent: Path, files: int = 200) -> float:
    parent.mkdir(parents=True, exist_ok=True)
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=parent))
    try:
        started = time.process_time()
        for number in range(files):
            (probe / str(number)).write_bytes(b"x" * 1000)
        return time.process_time() - started
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User and system CPU time of a process so far (Linux /proc); with its live child
    processes' too (a Celery worker's pool) when asked."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # ended since
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if not with_children:
        return own
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return own + sum(cpu_seconds(int(kid), with_children=True) for kid in kids)


def py_spy(pid: int, target: str | None, *, subprocesses: bool = False) -> Any:
    """`py-spy record` of process `pid` into `target` (None: no profile), until py_spy_end.

    A .txt target gets collapsed stacks (.threads.txt: per thread; .idle.txt: waiting too;
    .gil.txt: only the thread holding the interpreter lock, i.e. where the CPU goes); any
    other a flame graph. py-spy is not a dependency: `.venv/bin/uv pip install py-spy`."""
    if not target:
        return None
    command = [
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--output", target, "--nonblocking",
    ]  # fmt: skip
    if subprocesses:
        command.append("--subprocesses")
    if target.endswith(".txt"):
        command += ["--format", "raw"]
        command += ["--threads"] if target.endswith((".threads.txt", ".idle.txt")) else []
        command += ["--idle"] if target.endswith(".idle.txt") else []
        command += ["--gil"] if target.endswith(".gil.txt") else []
    # Its messages go with the progress (stderr), never among the JSON lines (stdout).
    return subprocess.Popen(command, stdout=sys.stderr)


def py_spy_end(profiler: Any) -> None:
    """Stop a py_spy recording; py-spy writes what it has."""
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait()


def timings_ms(action: Callable[[], Any], *, repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """`with stopwatch() as took: ...` then `took["seconds"]`."""
    result: dict[str, float] = {}
    started = time.perf_counter()
    yield result
    result["seconds"] = time.perf_counter() - started


def prepared(name: str, scale: float, build: Callable[[], None], ctx: Context) -> None:
    """Build a data set once per (name, scale) and remember it in the benchmark database."""
    from django.db import connection

    key = f"{name}@{scale:g}"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (key text PRIMARY KEY, built_at timestamptz)"
        )
        cursor.execute("SELECT 1 FROM bench_dataset WHERE key = %s", [key])
        if cursor.fetchone():
            ctx.log(f"data set {key}: reused")
            return
    ctx.log(f"data set {key}: building")
    with stopwatch() as took:
        build()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_dataset VALUES (%s, now())", [key])
        cursor.execute("ANALYZE")
    ctx.log(f"data set {key}: built in {took['seconds']:.1f} s")
