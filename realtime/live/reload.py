"""Hot reload: campaign changes reach every engine worker within a second, without restart.

The campaign services call :func:`campaigns_changed_notify` once their transaction committed
(``transaction.on_commit(campaigns_changed_notify)``). It bumps the ``campaigns:version`` counter
and publishes on ``campaigns:changed``; workers poll the counter every ``POLL_S`` (one GET that
rides along with their read loop) and reload what :func:`live_sources_load` returns.
"""

from __future__ import annotations

import logging

from realtime import streams
from realtime.engine.plan import OfferLimit, RuleSource
from realtime.live import keys

logger = logging.getLogger(__name__)

POLL_S = 0.2


def campaigns_changed_notify() -> None:
    """Tell the engine workers that the set of live campaigns changed (call it on commit).

    Best effort on Redis being down: the workers also reload on start and the change is in
    PostgreSQL, so a lost notification only delays the change until the next one.
    """
    try:
        client = streams.redis_client()
        version = client.incr(keys.campaigns_version())
        client.publish(keys.campaigns_channel(), str(version))
    except Exception:  # Redis down must not fail a publish that already committed
        logger.exception("could not notify the engine workers of a campaign change")


def campaigns_version_get() -> int:
    value = streams.redis_client().get(keys.campaigns_version())
    return int(value or 0)


def live_sources_load() -> list[RuleSource]:
    """The published campaigns with their live version's spec (one query)."""
    from campaigns.models import Campaign, CampaignStatus

    campaigns = (
        Campaign.objects.filter(status=CampaignStatus.PUBLISHED, live_version__isnull=False)
        .select_related("live_version")
        .order_by("id")
    )
    return [
        RuleSource(
            campaign_id=campaign.id,
            version=campaign.live_version.number,
            spec=campaign.live_version.spec,
        )
        for campaign in campaigns
        if campaign.live_version is not None
    ]


def live_offers_load() -> dict[str, OfferLimit]:
    """Each offer's own per-customer limit, shared by every campaign that sends it."""
    from campaigns.models import Offer

    return {
        slug: OfferLimit(max=limit, per=None)
        for slug, limit in Offer.objects.values_list("slug", "per_customer_limit")
    }
