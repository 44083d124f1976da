"""Dashboard pages, the stats API and the CSV exports, through HTTP as a user reaches them."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from campaigns.dashboards import services
from realtime.live import keys as live_keys
from realtime.streams import redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def measured(campaign_make, write, engine_decision, engine_conversion):
    """A campaign with 40 offers (10 converted, 50,000 revenue) and 40 held out (4 converted)."""
    campaign = campaign_make("Savings nudge")
    at = timezone.now() - dt.timedelta(minutes=30)
    offers = [engine_decision(campaign.id, at=at) for _ in range(40)]
    control = [engine_decision(campaign.id, at=at, outcome="held_out") for _ in range(40)]
    suppressed = [engine_decision(campaign.id, at=at, outcome="suppressed", reason="cap")]
    write(offers + control + suppressed)
    write(
        conversions=[engine_conversion(d, at=at, revenue=5000.0) for d in offers[:10]]
        + [engine_conversion(d, at=at) for d in control[:4]]
    )
    services.rollup_refresh(lag_s=0)
    services.rollup_refresh(lag_s=0)
    return campaign


@pytest.mark.parametrize("role", ["analyst", "marketer", "admin"])
def test_dashboard_pages_open_for_analysts_marketers_and_admins(client_as, measured, role):
    client = client_as(role)

    overview = client.get("/campaigns/dashboards/")
    page = client.get(f"/campaigns/dashboards/{measured.id}/?range=24h")

    assert overview.status_code == 200
    assert "Savings nudge" in overview.content.decode()
    assert page.status_code == 200
    assert page.context["figures"]["totals"]["offered"] == 40


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns/dashboards/",
        "/campaigns/dashboards/export.csv",
        "/campaigns/dashboards/{id}/",
        "/campaigns/dashboards/{id}/segments",
        "/campaigns/dashboards/{id}/export.csv?table=summary",
    ],
)
def test_merchants_never_see_dashboards(client_as, measured, path):
    client = client_as("merchant")

    response = client.get(path.format(id=measured.id))

    assert response.status_code == 403
    assert b"Savings nudge" not in response.content


def test_merchants_get_403_from_the_stats_api(api_as, measured):
    response = api_as("merchant").get(f"/api/v1/campaigns/{measured.id}/stats")

    assert response.status_code == 403
    assert "totals" not in response.json()


def test_anonymous_visitors_are_sent_to_the_login_page(client, measured):
    response = client.get(f"/campaigns/dashboards/{measured.id}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login")


def test_unknown_campaign_gives_404_not_figures(client_as, api_as, measured):
    assert client_as("analyst").get("/campaigns/dashboards/999999/").status_code == 404
    assert api_as("analyst").get("/api/v1/campaigns/999999/stats").status_code == 404


def test_bad_range_is_a_400_naming_the_parameter(client_as, api_as, measured):
    page = client_as("analyst").get(f"/campaigns/dashboards/{measured.id}/?range=5y")
    api = api_as("analyst").get(f"/api/v1/campaigns/{measured.id}/stats?range=5y")

    assert page.status_code == 400
    assert b"range" in page.content
    assert api.status_code == 400
    assert "range" in str(api.json())


def test_analysts_cannot_change_anything_through_the_stats_api(api_as, measured):
    api = api_as("analyst")

    for method in (api.post, api.put, api.patch, api.delete):
        assert method(f"/api/v1/campaigns/{measured.id}/stats", {}).status_code == 405


def test_stats_api_reports_lift_with_its_interval_and_verdict(api_as, measured):
    response = api_as("analyst").get(f"/api/v1/campaigns/{measured.id}/stats?range=24h")

    assert response.status_code == 200
    figures = response.json()
    assert figures["totals"]["triggered"] == 81
    assert figures["totals"]["offered"] == 40
    assert figures["totals"]["held_out"] == 40
    assert figures["totals"]["converted_offer"] == 10
    assert figures["totals"]["converted_control"] == 4
    assert figures["suppression"] == [{"reason": "cap", "count": 1}]
    lift = figures["lift"]
    assert lift["rate_offer"] == pytest.approx(0.25)
    assert lift["rate_control"] == pytest.approx(0.10)
    assert lift["absolute"] == pytest.approx(0.15)
    # Newcombe for 10/40 - 4/40: Wilson 10/40 = [0.14187, 0.40194], 4/40 = [0.03958, 0.23052]
    # low = .15 - sqrt(.10813^2 + .13052^2) = -0.01949
    # high = .15 + sqrt(.15194^2 + .06042^2) = 0.31351
    assert lift["interval"][0] == pytest.approx(-0.01949, abs=1e-5)
    assert lift["interval"][1] == pytest.approx(0.31351, abs=1e-5)
    assert lift["verdict"] == "not_significant"
    assert lift["is_significant"] is False
    assert "includes zero" in lift["statement"]
    assert figures["money"]["revenue"] == 50000.0
    assert figures["funnel"][0] == {"step": "triggered", "label": "Triggered", "count": 81}
    assert figures["variants"][0]["variant"] == "A"


def test_live_counters_of_the_current_minute_are_merged_on_top(api_as, measured):
    # given: the engine counted 5 more offers this minute than the rollup has seen
    minute = int(timezone.now().timestamp() // 60)
    redis_client().hset(
        live_keys.counters(measured.id, minute),
        mapping={"triggered": 7, "offer": 5, "suppressed": 2, "suppressed:budget": 2},
    )

    figures = api_as("analyst").get(f"/api/v1/campaigns/{measured.id}/stats?range=1h").json()
    rolled = api_as("analyst").get(f"/api/v1/campaigns/{measured.id}/stats?live=false").json()

    assert figures["totals"]["triggered"] == 81 + 7
    assert figures["totals"]["offered"] == 45
    assert {"reason": "budget", "count": 2} in figures["suppression"]
    assert sum(figures["series"]["triggered"]) == 88
    assert rolled["totals"]["triggered"] == 81


def _csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    "table", ["summary", "series", "funnel", "suppression", "variants", "segments", "decisions"]
)
def test_every_table_exports_as_csv(client_as, measured, table):
    response = client_as("analyst").get(
        f"/campaigns/dashboards/{measured.id}/export.csv?table={table}&range=24h"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = _csv(response)
    assert len(rows) >= 2
    if table == "decisions":
        assert len(rows) == 1 + 81


def test_csv_cells_that_look_like_formulas_are_defused(
    client_as, campaign_make, write, engine_decision
):
    campaign = campaign_make('=HYPERLINK("http://evil.example","x")')
    write([engine_decision(campaign.id, at=timezone.now(), customer_id="+1-555-evil")])
    services.rollup_refresh(lag_s=0)
    client = client_as("analyst")

    overview = _csv(client.get("/campaigns/dashboards/export.csv?table=campaigns"))
    decisions = _csv(client.get(f"/campaigns/dashboards/{campaign.id}/export.csv?table=decisions"))

    assert overview[1][0] == '\'=HYPERLINK("http://evil.example","x")'
    assert decisions[1][2] == "'+1-555-evil"


def test_segments_break_down_by_age_band(client_as, measured):
    from campaigns.models import Decision
    from segments.models import Customer

    for index, decision in enumerate(Decision.objects.filter(campaign=measured)):
        Customer.objects.create(
            customer_id=decision.customer_id, traits={"age": 25 + (index % 2) * 20}
        )

    response = client_as("analyst").get(
        f"/campaigns/dashboards/{measured.id}/segments?trait=age_band&range=24h"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<td>20s</td>" in html
    assert "<td>40s</td>" in html
    exported = _csv(
        client_as("analyst").get(
            f"/campaigns/dashboards/{measured.id}/export.csv?table=segments&trait=age_band"
        )
    )
    offered = {row[0]: int(row[1]) for row in exported[1:]}
    assert set(offered) == {"20s", "40s"}
    assert sum(offered.values()) == 40


def test_share_link_reopens_the_same_view(client_as, measured):
    client = client_as("analyst")
    page = client.get(f"/campaigns/dashboards/{measured.id}/?range=7d")

    share = page.context["share_url"]

    assert share.endswith(f"/campaigns/dashboards/{measured.id}/?range=7d")
    colleague = client_as("marketer").get(share.replace("http://testserver", ""))
    assert colleague.status_code == 200
    assert colleague.context["range"].key == "7d"


def test_overview_ranks_by_lift_and_names_a_falling_delivery_rate(
    client_as, campaign_make, measured
):
    from campaigns.dashboards.models import CampaignRollup

    # given: a second campaign whose delivery rate fell from 97 % to 40 % in the last hour
    falling = campaign_make("Card upgrade")
    now = timezone.now()
    hour = (now - dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    CampaignRollup.objects.create(
        campaign=falling, grain="h", bucket=hour, sent=1000, delivered=970, offered=1000
    )
    CampaignRollup.objects.create(
        campaign=falling,
        grain="m",
        bucket=now.replace(second=0, microsecond=0) - dt.timedelta(minutes=5),
        sent=100,
        delivered=40,
        offered=100,
    )

    response = client_as("analyst").get("/campaigns/dashboards/?range=24h")

    alerts = response.context["alerts"]
    assert [(alert.campaign, alert.metric) for alert in alerts] == [
        ("Card upgrade", "delivery_rate")
    ]
    assert "Card upgrade" in response.content.decode()
    assert "delivery rate fell to 40.0%" in response.content.decode()
    ranked = [row["campaign"] for row in response.context["rows"]]
    assert ranked[0] == "Savings nudge"  # the only one with a measurable lift
