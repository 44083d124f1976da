"""Designer speed: open a 30-block campaign, and one htmx edit round trip, server time.

``designer_open_ms``: GET /campaigns/<id>/ (the whole designer page: catalog, compile, cards,
summary, flow SVG, versions, audit, decisions). ``designer_edit_ms``: POST of one typed value
(apply the edit, save with the revision check and audit, compile, answer summary + flow + errors).
Both through Django's test client in one process, so the figure is server time without the
network; medians over many requests after a warm-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cdp_site import platform

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

SCRIPT = r"""
import json, os, statistics, sys, time, uuid
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
from campaigns import services
from campaigns.gallery import gallery_offers_ensure
from cdp_site.demo import role_groups_ensure
from cdp_site.roles import Role
from realtime.demo import demo_event_types_ensure

rounds = int(sys.argv[1])
demo_event_types_ensure()
gallery_offers_ensure()
user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:8]}")
user.groups.add(role_groups_ensure()[Role.MARKETER])
SAVINGS = ["savings", "installment_savings", "deposit", "housing_subscription"]
view = {"attr": "category", "op": "in", "value": SAVINGS}
conditions = []
for i in range(6):
    conditions.append({"count": {"event": "product_view", "where": view, "within": f"{i + 1}d"},
                       "op": ">=", "value": i + 1})
    conditions.append({"profile": "age", "op": "between", "value": [19 + i, 55 + i]})
    conditions.append({"sequence": [{"event": "screen_view"}, {"event": "product_view"}],
                       "within": "10m"})
conditions.append({"any": [{"profile": "region", "op": "=", "value": "Gangnam-gu"},
                           {"profile": "region", "op": "=", "value": "Seocho-gu"}]})
spec = {
    "spec": 1, "name": "Thirty blocks",
    "trigger": {"event": "product_view", "where": {"all": [view,
                {"attr": "product_id", "op": "exists"}]}},
    "conditions": {"all": conditions},
    "unless": {"event": "product_subscribed", "within": "7m"},
    "actions": [{"offer": "savings-signup-coupon", "channel": "push", "fallback": "sms"},
                {"notify_staff": {"team": "call_centre", "message": "call"}},
                {"set_profile": {"interest": "savings"}}],
    "guards": {"holdout": 0.1, "cap": {"max": 1, "per": "30d"},
               "quiet_hours": {"from": "21:00", "to": "08:00", "then": "defer"},
               "budget": {"max_offers": 10000}, "priority": 50},
    "goal": {"event": "product_subscribed", "within": "7d"},
}
campaign = services.campaign_create(user=user, name="Thirty blocks", spec=spec)
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(user)
url = f"/campaigns/{campaign.pk}/"
page = client.get(url)
assert page.status_code == 200, page.status_code
blocks = page.content.count(b'class="designer-card ')

def timed(call):
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed

for _ in range(3):
    client.get(url)
opens = [timed(lambda: client.get(url)) for _ in range(rounds)]
edits = []
for i in range(rounds):
    campaign.refresh_from_db()
    data = {"op": "set", "path": "conditions.all[1].value[1]", "value": str(50 + i % 9),
            "kind": "number", "revision": campaign.revision}
    edits.append(timed(lambda: client.post(f"{url}edit/", data, HTTP_HX_REQUEST="true")))
campaign.delete()  # leave the database as found (it may be a developer's own)
user.delete()
print(json.dumps({"open": opens, "edit": edits, "blocks": blocks}))
"""


def run(*, quick: bool) -> dict[str, Any]:
    rounds = 15 if quick else 60
    with platform.servers() as environment:
        environment = {
            **environment,
            "DJANGO_SETTINGS_MODULE": "cdp_site.settings.dev",
            "CDP_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT) + os.pathsep + environment.get("PYTHONPATH", ""),
        }
        done = subprocess.run(
            [PYTHON, "-c", SCRIPT, str(rounds)],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the designer benchmark failed:\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    opens = sorted(measured["open"])
    edits = sorted(measured["edit"])
    return {
        "figures": {
            "designer_open_ms": round(opens[len(opens) // 2], 1),
            "designer_open_p95_ms": round(opens[int(len(opens) * 0.95) - 1], 1),
            "designer_edit_ms": round(edits[len(edits) // 2], 1),
            "designer_edit_p95_ms": round(edits[int(len(edits) * 0.95) - 1], 1),
            "designer_blocks": measured["blocks"],
        },
        "units": {
            "designer_open_ms": "ms",
            "designer_open_p95_ms": "ms",
            "designer_edit_ms": "ms",
            "designer_edit_p95_ms": "ms",
            "designer_blocks": "cards",
        },
        "goals": {"designer_open_ms": "<= 150", "designer_edit_ms": "<= 150"},
    }
