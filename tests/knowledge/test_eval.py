"""How often search puts the right demo article in the top 3 for customer-written queries."""

import pytest

from knowledge.demo import load_demo_knowledge_base
from knowledge.selectors import article_suggest
from tests.knowledge.eval_set import EVAL_SET

pytestmark = [pytest.mark.services, pytest.mark.django_db]

# 98% (57 of 58) when first measured on PostgreSQL; below 90% means search got worse.
MIN_TOP3_SHARE = 0.9


def top3_share() -> tuple[float, list[str]]:
    misses = []
    for query, expected in EVAL_SET:
        found = [hit.article.slug for hit in article_suggest(query, limit=3)]
        if expected not in found:
            misses.append(f"{query!r}: wanted {expected}, got {found}")
    return 1 - len(misses) / len(EVAL_SET), misses


def test_customer_queries_find_the_right_article_in_the_top_3():
    assert load_demo_knowledge_base() >= 30
    share, misses = top3_share()
    print(f"top-3: {share:.0%} of {len(EVAL_SET)}", *misses, sep="\n")
    assert share >= MIN_TOP3_SHARE, "\n".join(misses)
