"""Where a py-spy profile's samples go, by stage: the shares quoted in docs/benchmarks.md.

    python -m tests.benchmarks.profile_split FILE.txt [--only TEXT] [--top N]

FILE.txt is py-spy's raw (collapsed) output, as the benchmarks' *_PYSPY variables record it:
one line per stack, its frames outermost first, separated by ";", then its sample count.
Each sample counts for the stage of its innermost frame that belongs to one (the code it
was running when sampled, not what called it). `--only TEXT` keeps the stacks that contain
TEXT (e.g. "process (channels_ingest/pipeline.py" for the one-at-a-time ingest path);
`--top N` also lists the N functions most often at the top of the stack.
"""

import argparse
import sys
from collections import Counter

# (stage, path fragments), the first match from the innermost frame outwards wins.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("PostgreSQL: the driver and waiting for answers", ("psycopg/", "psycopg_pool/")),
    ("Redis", ("redis/", "kombu/transport/redis")),
    (
        "the ORM building SQL",
        (
            "django/db/models/sql/",
            "django/db/models/expressions.py",
            "django/db/models/lookups.py",
            "django/db/models/fields/",
            "django/db/backends/",
            "django/db/models/functions/",
        ),
    ),
    (
        "the ORM making rows into objects",
        ("django/db/models/query.py", "django/db/models/base.py", "django/db/models/manager"),
    ),
    ("parsing email (the standard library's email package)", ("/email/", "channels_ingest/email/")),
    ("templates", ("django/template/", "helpdesk/forms_renderer.py")),
    ("files and storage", ("django/core/files/", "helpdesk/uploads.py", "shutil.py")),
    ("Celery and kombu", ("celery/", "kombu/", "billiard/")),
    (
        "the web server and Django's request handling",
        (
            "uvicorn/",
            "h11/",
            "httptools/",
            "asgiref/",
            "django/core/handlers/",
            "django/middleware/",
            "whitenoise/",
            "django/http/",
            "django/urls/",
            "anymail/",
            "asyncio/",
        ),
    ),
    ("logging", ("logging/",)),
    ("our code", ("tickets/", "channels_ingest/", "helpdesk/", "knowledge/")),
]


def stage_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for stage, fragments in STAGES:
            if any(fragment in frame for fragment in fragments):
                return stage
    return "other (the interpreter, start-up, libraries)"


def read(path: str, only: str | None) -> list[tuple[list[str], int]]:
    stacks = []
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if stack and count.isdigit() and (only is None or only in stack):
                stacks.append((stack.split(";"), int(count)))
    return stacks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--only")
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args(argv)
    stacks = read(args.profile, args.only)
    total = sum(count for _, count in stacks)
    if not total:
        print("no samples")
        return 1
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for frames, count in stacks:
        stages[stage_of(frames)] += count
        leaves[frames[-1]] += count
    print(f"{total:,} samples")
    for stage, count in stages.most_common():
        print(f"{100 * count / total:5.1f}%  {stage}")
    for leaf, count in leaves.most_common(args.top):
        print(f"{100 * count / total:5.1f}%  {leaf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
