"""R12.1: "claim next" never hands one item to two reviewers, however many claim at once (threads, each
with its own database connection, against the real PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from moderation import services
from moderation.models import ReviewItem, ReviewKind
from tests.conftest import actor_for
from tests.moderation.conftest import queue_staff

ITEMS = 40
REVIEWERS = 4


def _claim_all_at_once(reviewers) -> dict[int, list[int]]:
    barrier = threading.Barrier(len(reviewers))
    results, errors = {}, []

    def work(user):
        try:
            barrier.wait(timeout=10)
            got = []
            while (item := services.review_claim_next(actor=actor_for(user))) is not None:
                got.append(item.pk)
            results[user.pk] = got
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def _queue_of(count: int) -> set[int]:
    deadline = timezone.now() + timedelta(hours=1)
    ReviewItem.objects.bulk_create(
        ReviewItem(kind=ReviewKind.CASE, object_id=n, priority=1000 + n % 7, deadline=deadline, title=f"#{n}")
        for n in range(1, count + 1)
    )
    return set(ReviewItem.objects.values_list("pk", flat=True))


def _reviewers():
    return [queue_staff(f"race{n}", f"并发{n}", "reviewer") for n in range(REVIEWERS)]


@pytest.mark.django_db(transaction=True)
def test_r12_1_four_reviewers_claiming_at_once_never_get_the_same_item():
    assert connection.features.has_select_for_update_skip_locked  # the PostgreSQL path
    reviewers = _reviewers()
    items = _queue_of(ITEMS)
    results = _claim_all_at_once(reviewers)
    claimed = [pk for got in results.values() for pk in got]
    assert len(claimed) == len(set(claimed)) == ITEMS and set(claimed) == items
    holders = dict(ReviewItem.objects.values_list("pk", "claimed_by_id"))
    for user_pk, got in results.items():
        assert all(holders[pk] == user_pk for pk in got)


@pytest.mark.django_db(transaction=True)
def test_r12_1_the_portable_claim_never_double_claims_either(monkeypatch):
    """The fallback for databases without SKIP LOCKED (the embedded SQLite): a conditional update."""
    monkeypatch.setattr(type(connection.features), "has_select_for_update_skip_locked", False)
    reviewers = _reviewers()
    items = _queue_of(ITEMS)
    results = _claim_all_at_once(reviewers)
    claimed = [pk for got in results.values() for pk in got]
    assert len(claimed) == len(set(claimed)) == ITEMS and set(claimed) == items
