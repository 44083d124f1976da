from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cdp_site import demo


class Command(BaseCommand):
    help = "Create the demo users (one per role) and demo data; prints new passwords once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords", action="store_true", help="give every demo user a new password"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = demo.demo_users_ensure(reset_passwords=options["reset_passwords"])
        self.stdout.write("Demo users (username / password):")
        for user in users:
            shown = user.password or "(unchanged; run `manage.py seed_demo --reset-passwords`)"
            self.stdout.write(f"  {user.role.value:9} {user.username:10} {shown}")
        self._seed_event_collection()
        self._seed_offers()
        self._seed_merchants()
        self._seed_campaigns()
        self._seed_dashboards()

    def _seed_event_collection(self) -> None:
        from realtime.demo import demo_event_types_ensure, demo_source_ensure
        from segments.demo import demo_customers_ensure

        types = demo_event_types_ensure()
        self.stdout.write(f"Event types: {len(types)} created")
        key = demo_source_ensure()
        if key:
            self.stdout.write(f"Demo event source key (shown once): {key}")
        result = demo_customers_ensure()
        self.stdout.write(f"Demo customers: {result.created} created, {result.updated} updated")

    def _seed_offers(self) -> None:
        from campaigns.offers.demo import demo_offers_ensure

        offers = demo_offers_ensure()
        self.stdout.write(f"Demo offers: {', '.join(offer.slug for offer in offers)}")

    def _seed_merchants(self) -> None:
        from merchants.demo import demo_merchant_ensure, merchant_event_types_ensure

        merchant_event_types_ensure()
        offer = demo_merchant_ensure()
        if offer is not None:
            self.stdout.write(f"Demo merchant offer: {offer.title} ({offer.get_status_display()})")

    def _seed_campaigns(self) -> None:
        from campaigns.demo import demo_campaigns_ensure

        campaigns = demo_campaigns_ensure()
        self.stdout.write(f"Demo campaigns: {len(campaigns)} created")

    def _seed_dashboards(self) -> None:
        from campaigns.dashboards.demo import demo_dashboards_ensure

        result = demo_dashboards_ensure()
        if result.campaigns:
            self.stdout.write(
                f"Dashboard history: {result.decisions} decisions, {result.conversions} "
                f"conversions for {result.campaigns} campaigns"
            )
