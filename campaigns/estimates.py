"""Audience estimates: a Celery task replays archived events through a draft campaign.

The task loads the estimate by id and calls :func:`audience_estimate_run`; progress is written
to the estimate row about once a second, which the designer polls (htmx) for its progress bar.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from campaigns import selectors
from campaigns.models import AudienceEstimate, EstimateStatus, Offer
from campaigns.spec.catalog import catalog_load
from campaigns.spec.words import condition_words, top_conditions

logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5


def _claim(estimate_id: int) -> AudienceEstimate | None:
    """Take the estimate from queued to running exactly once (a redelivered task does nothing)."""
    with transaction.atomic():
        estimate = AudienceEstimate.objects.select_for_update().get(pk=estimate_id)
        if estimate.status != EstimateStatus.QUEUED:
            return None
        estimate.status = EstimateStatus.RUNNING
        estimate.save(update_fields=["status"])
    return estimate


def audience_estimate_run(*, estimate_id: int) -> AudienceEstimate:
    from realtime.engine.errors import SpecErrors
    from realtime.engine.plan import RuleSource
    from realtime.replay import replay_estimate

    estimate = _claim(estimate_id)
    if estimate is None:
        return AudienceEstimate.objects.get(pk=estimate_id)
    last_write = 0.0

    def progress(fraction: float, events: int) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write < PROGRESS_EVERY_S and fraction < 1.0:
            return
        last_write = now
        AudienceEstimate.objects.filter(pk=estimate_id).update(
            events_done=events, result={"progress": round(fraction, 4)}
        )

    live = [
        RuleSource(campaign_id=campaign.pk, version=campaign.live_version.number, spec=spec)
        for campaign, spec in selectors.live_campaign_specs(exclude_id=estimate.campaign_id)
        if campaign.live_version is not None
    ]
    catalog = catalog_load()
    try:
        result = replay_estimate(
            campaign_id=estimate.campaign_id,
            spec=estimate.spec,
            start=estimate.window_start,
            end=estimate.window_end,
            live=live,
            condition_labels=[condition_words(c) for c in top_conditions(estimate.spec)],
            event_types=catalog.engine_event_types(),
            progress=progress,
        )
    except SpecErrors as errors:
        # a live campaign may have stopped compiling (a deleted event type); say which
        estimate.status = EstimateStatus.FAILED
        estimate.error = str(errors)
        estimate.finished_at = timezone.now()
        estimate.save(update_fields=["status", "error", "finished_at"])
        return estimate
    except Exception as error:  # the designer shows the failure instead of spinning forever
        logger.exception("audience estimate %s failed", estimate_id)
        estimate.status = EstimateStatus.FAILED
        estimate.error = f"The estimate failed: {error}"
        estimate.finished_at = timezone.now()
        estimate.save(update_fields=["status", "error", "finished_at"])
        return estimate
    data = result.to_dict()
    # a percentage coupon has no fixed cost before the purchase; only amounts are added up
    values = dict(
        Offer.objects.filter(slug__in=list(result.offers_by_slug), is_percent=False).values_list(
            "slug", "coupon_value"
        )
    )
    cost = sum(float(values.get(slug) or 0) * n for slug, n in result.offers_by_slug.items())
    names = dict(
        selectors.campaign_list().filter(pk__in=list(result.collisions)).values_list("pk", "name")
    )
    data["cost"] = round(cost, 2)
    data["collisions"] = [
        {"campaign_id": cid, "name": names.get(cid, f"#{cid}"), "customers": n}
        for cid, n in result.collisions.items()
    ]
    data["progress"] = 1.0
    estimate.status = EstimateStatus.DONE
    estimate.result = data
    estimate.events_done = estimate.events_total = result.events
    estimate.finished_at = timezone.now()
    estimate.save()
    return estimate


@shared_task(ignore_result=True)
def audience_estimate_task(estimate_id: int) -> None:
    audience_estimate_run(estimate_id=estimate_id)
