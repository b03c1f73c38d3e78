"""Top-1, top-3 and mean reciprocal rank of a door over the evaluation questions."""

import json
import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DoorScore:
    door: str
    database: str
    questions: int
    top1: float
    top3: float
    mrr: float
    off_topic: int
    off_topic_confident: float
    misses: tuple[str, ...]

    def line(self) -> str:
        return (
            f"{self.door:12} {self.database:10} n={self.questions} top1={self.top1:.1%} "
            f"top3={self.top3:.1%} mrr={self.mrr:.3f} off-topic confident="
            f"{self.off_topic_confident:.1%} of {self.off_topic}"
        )


def score(
    door: str,
    database: str,
    answers: list[tuple[str, str, list[str]]],
    confident_off_topic: list[bool],
) -> DoorScore:
    """`answers`: (query, right slug, slugs shown); `confident_off_topic`: per off-topic
    query, whether the door put an answer forward with confidence."""
    ranks = [shown.index(right) + 1 if right in shown else None for _, right, shown in answers]
    n = len(answers)
    result = DoorScore(
        door=door,
        database=database,
        questions=n,
        top1=sum(r == 1 for r in ranks) / n,
        top3=sum(r is not None and r <= 3 for r in ranks) / n,
        mrr=sum(1 / r for r in ranks if r is not None) / n,
        off_topic=len(confident_off_topic),
        off_topic_confident=sum(confident_off_topic) / max(1, len(confident_off_topic)),
        misses=tuple(
            f"{query!r}: wanted {right}, shown {shown[:3]}"
            for (query, right, shown), rank in zip(answers, ranks, strict=True)
            if rank is None or rank > 3
        ),
    )
    if path := os.environ.get("KB_EVAL_REPORT"):
        with open(path, "a", encoding="utf-8") as report:
            report.write(json.dumps(asdict(result)) + "\n")
    print(result.line(), *result.misses, sep="\n  ")
    return result
