"""Scenarios 1, 2, 3, 6, 7 and 8 of shared/SCENARIOS.md end to end: campaigns published, events
through POST /api/v1/events, two live ``run_engine`` workers, decisions checked in PostgreSQL.
Windows are seconds instead of minutes."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from campaigns.models import Decision
from realtime import streams
from realtime.live import keys

SAVINGS = ["savings", "installment_savings", "deposit", "housing_subscription"]
SAVINGS_VIEW = {"attr": "category", "op": "in", "value": SAVINGS}

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout: float = 15.0, step: float = 0.05):
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def plan_loaded() -> None:
    """Every live worker runs the current campaigns version."""
    import orjson

    client = streams.redis_client()
    version = int(client.get(keys.campaigns_version()) or 0)

    def loaded() -> bool:
        workers = [orjson.loads(v) for v in client.hvals(keys.workers())]
        return bool(workers) and all(w["plan_version"] >= version for w in workers)

    wait_until(loaded, timeout=5)


@pytest.fixture
def workers(engine_processes):
    engine_processes.start("alpha")
    engine_processes.start("beta")
    engine_processes.wait_ready()
    return engine_processes


def offers(campaign, customer_id: str | None = None):
    found = Decision.objects.filter(campaign=campaign, outcome="offer")
    if customer_id is not None:
        found = found.filter(customer_id=customer_id)
    return found


def view(customer: str, category: str = "savings") -> dict[str, object]:
    return {"type": "product_view", "customer_id": customer, "attributes": {"category": category}}


def test_scenario_1_viewed_but_did_not_sign_up(workers, campaign_live, send, profile_put):
    # given
    campaign = campaign_live(
        {
            "spec": 1,
            "name": "Savings sign-up nudge",
            "trigger": {"event": "product_view", "where": SAVINGS_VIEW},
            "conditions": {
                "all": [
                    {
                        "count": {"event": "product_view", "where": SAVINGS_VIEW, "within": "1d"},
                        "op": ">=",
                        "value": 3,
                    },
                    {"profile": "age", "op": "between", "value": [19, 55]},
                ]
            },
            "unless": {"event": "product_subscribed", "within": "2s"},
            "actions": [{"offer": "savings-signup-coupon", "channel": "push", "fallback": "sms"}],
            "guards": {"cap": {"max": 1, "per": "30d"}},
        }
    )
    for customer, age in [("s1-yes", 30), ("s1-old", 60), ("s1-signed", 30), ("s1-two", 30)]:
        profile_put(customer, {"age": age})
    plan_loaded()
    # when
    send(view("s1-yes"), view("s1-yes", "deposit"), view("s1-yes", "loan"), view("s1-yes"))
    send(view("s1-old"), view("s1-old"), view("s1-old"))
    send(view("s1-signed"), view("s1-signed"), view("s1-signed"))
    send({"type": "product_subscribed", "customer_id": "s1-signed",
          "attributes": {"category": "savings"}})  # fmt: skip
    send(view("s1-two"), view("s1-two"))
    # then: one coupon, after the 2 s absence window, for the one customer it is meant for
    time.sleep(1.0)
    assert offers(campaign).count() == 0  # still waiting for the absence window
    wait_until(lambda: offers(campaign).count() == 1, timeout=6)
    send(view("s1-yes"), view("s1-yes"), view("s1-yes"))  # more views: the cap holds
    time.sleep(3.0)
    assert list(offers(campaign).values_list("customer_id", flat=True)) == ["s1-yes"]
    decision = offers(campaign).get()
    assert decision.actions == [
        {"offer": "savings-signup-coupon", "channel": "push", "fallback": "sms"}
    ]
    assert not offers(campaign).filter(customer_id__in=["s1-old", "s1-signed", "s1-two"]).exists()
    assert streams.redis_client().hget(keys.counters(campaign.id), "offer") == b"1"


def test_scenario_2_lost_in_the_app(workers, campaign_live, send):
    campaign = campaign_live(
        {
            "spec": 1,
            "name": "Lost in the app",
            "trigger": {"event": "screen_view"},
            "conditions": {
                "count": {"event": "screen_view", "within": "5m", "same": ["screen"]},
                "op": ">=",
                "value": 4,
            },
            "actions": [
                {
                    "notify_staff": {
                        "team": "call_centre",
                        "message": "Customer seems lost on {screen}",
                    }
                }
            ],
            "guards": {"cap": {"max": 1, "per": "1h"}},
        }
    )
    plan_loaded()

    def screen(customer: str, name: str) -> dict[str, object]:
        return {"type": "screen_view", "customer_id": customer, "attributes": {"screen": name}}

    send(*[screen("s2-lost", "transfer")] * 5)
    send(*[screen("s2-browsing", name) for name in ("home", "cards", "loans", "home", "fx")])
    send(*[screen("s2-three", "transfer")] * 3)
    wait_until(lambda: Decision.objects.filter(campaign=campaign, outcome="offer").exists())
    time.sleep(1.0)
    decisions = list(Decision.objects.filter(campaign=campaign, outcome="offer"))
    assert [d.customer_id for d in decisions] == ["s2-lost"]
    assert decisions[0].actions == [
        {"notify_staff": {"team": "call_centre", "message": "Customer seems lost on transfer"}}
    ]


def test_scenario_3_maturity_ahead(workers, campaign_live, send, profile_put):
    campaign = campaign_live(
        {
            "spec": 1,
            "name": "Maturity ahead",
            "trigger": {"event": "yield_inquiry"},
            "conditions": {"profile": "deposit_maturity_date", "op": "within_next", "value": "30d"},
            "actions": [
                {"notify_staff": {"team": "call_centre", "message": "Call about re-deposit"}},
                {"offer": "redeposit-offer", "channel": "sms"},
            ],
        }
    )
    today = dt.date.today()
    profile_put("s3-soon", {"deposit_maturity_date": str(today + dt.timedelta(days=10))})
    profile_put("s3-later", {"deposit_maturity_date": str(today + dt.timedelta(days=60))})
    plan_loaded()
    send(*[{"type": "yield_inquiry", "customer_id": c, "attributes": {}}
           for c in ("s3-soon", "s3-later", "s3-unknown")])  # fmt: skip
    wait_until(lambda: offers(campaign).exists())
    time.sleep(1.0)
    decision = offers(campaign).get()
    assert decision.customer_id == "s3-soon"
    assert decision.actions == [
        {"notify_staff": {"team": "call_centre", "message": "Call about re-deposit"}},
        {"offer": "redeposit-offer", "channel": "sms", "fallback": None},
    ]


def test_scenario_6_coupon_about_to_expire(workers, campaign_live, profile_put):
    campaign = campaign_live(
        {
            "spec": 1,
            "name": "Coupon about to expire",
            "trigger": {"date": "gift_coupon_expiry", "offset": "-7d"},
            "actions": [{"offer": "coupon-reminder", "channel": "push"}],
        }
    )
    plan_loaded()
    expiry = dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=7, seconds=2)
    profile_put("s6-gift", {"gift_coupon_expiry": expiry.isoformat()})
    profile_put("s6-far", {"gift_coupon_expiry": (expiry + dt.timedelta(days=30)).isoformat()})
    time.sleep(1.0)
    assert not offers(campaign).exists()  # the reminder is due in 2 s, not yet
    wait_until(lambda: offers(campaign).exists(), timeout=5)
    profile_put("s6-gift", {"gift_coupon_expiry": expiry.isoformat()})  # same date again
    time.sleep(1.5)
    assert list(offers(campaign).values_list("customer_id", flat=True)) == ["s6-gift"]


def test_scenario_7_after_the_branch_visit(workers, campaign_live, send):
    campaign = campaign_live(
        {
            "spec": 1,
            "name": "After the branch visit",
            "trigger": {"event": "branch_visit"},
            "delay": "2s",
            "conditions": {
                "not": {
                    "count": {"event": "survey_answered", "within": "30d"},
                    "op": ">=",
                    "value": 1,
                }
            },
            "actions": [{"offer": "satisfaction-survey", "channel": "sms"}],
        }
    )
    plan_loaded()
    send({"type": "survey_answered", "customer_id": "s7-answered", "attributes": {"score": 5}})
    visits = [{"type": "branch_visit", "customer_id": c, "attributes": {"branch_id": "B1"}}
              for c in ("s7-visitor", "s7-answered", "s7-answers-meanwhile")]  # fmt: skip
    send(*visits)
    send({"type": "survey_answered", "customer_id": "s7-answers-meanwhile",
          "attributes": {"score": 4}})  # fmt: skip
    time.sleep(1.0)
    assert not offers(campaign).exists()  # 2 s have not passed yet
    wait_until(lambda: offers(campaign).exists(), timeout=5)
    time.sleep(1.0)
    assert list(offers(campaign).values_list("customer_id", flat=True)) == ["s7-visitor"]


def test_scenario_8_chained_inference(workers, campaign_live, send):
    rule_a = campaign_live(
        {
            "spec": 1,
            "name": "A: savings interest",
            "trigger": {"event": "product_view", "where": SAVINGS_VIEW},
            "conditions": {
                "count": {"event": "product_view", "where": SAVINGS_VIEW, "within": "7d"},
                "op": ">=",
                "value": 3,
            },
            "actions": [
                {"set_profile": {"interest": "savings"}},
                {"emit": {"event": "savings_interest"}},
            ],
        }
    )
    rule_b = campaign_live(
        {
            "spec": 1,
            "name": "B: interest with salary",
            "trigger": {"event": "savings_interest"},
            "conditions": {
                "count": {"event": "salary_deposit", "within": "30d"},
                "op": ">=",
                "value": 1,
            },
            "actions": [{"offer": "savings-offer", "channel": "push"}],
        }
    )
    rule_c = campaign_live(
        {
            "spec": 1,
            "name": "C: salary with interest",
            "trigger": {"event": "salary_deposit"},
            "conditions": {"profile": "interest", "op": "=", "value": "savings"},
            "actions": [{"offer": "savings-offer", "channel": "push"}],
        }
    )
    plan_loaded()
    salary = {"type": "salary_deposit", "attributes": {"amount": 3_000_000}}
    # P: salary first, then the third view fires A and B in the same pass
    send({**salary, "customer_id": "s8-p"})
    time.sleep(0.3)
    send(view("s8-p"), view("s8-p"), view("s8-p"))
    # Q: views first (A fires, B does not), the salary later fires C from the fact A set
    send(view("s8-q"), view("s8-q"), view("s8-q"))
    wait_until(lambda: Decision.objects.filter(campaign=rule_a, customer_id="s8-q").exists())
    send({**salary, "customer_id": "s8-q"})
    wait_until(lambda: offers(rule_c, "s8-q").exists())
    time.sleep(1.0)
    first = offers(rule_b, "s8-p").get()
    assert Decision.objects.get(campaign=rule_a, customer_id="s8-p").trigger_event_id
    assert not offers(rule_c, "s8-p").exists()
    assert not offers(rule_b, "s8-q").exists()
    assert offers(rule_c, "s8-q").count() == 1
    # the derived event is archived once, not fed back to the partition stream
    derived = streams.redis_client().xrange(keys.derived_events())
    assert len(derived) == 2
    assert first.campaign_id == rule_b.id
