"""Customer profiles: the API, the Redis mirror, profile_updated events, CSV import, commands."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from realtime import streams
from segments.models import Customer, CustomerImport
from segments.selectors import profile_mirror_get_many
from segments.services import customer_facts_apply, customer_upsert
from segments.tasks import customer_import_run_task


def stream_of(customer_id: str) -> list[dict[str, Any]]:
    stream = streams.event_stream_key(streams.partition_of(customer_id))
    return [
        streams.decode_event(fields[b"e"])
        for _, fields in streams.redis_client().xrange(stream)
        if streams.decode_event(fields[b"e"])["customer_id"] == customer_id
    ]


def mirror(customer_id: str) -> Any:
    value = streams.redis_client().get(streams.profile_key(customer_id))
    return None if value is None else orjson.loads(value)


def test_put_creates_a_profile_mirrors_it_and_announces_the_change(api_as: Any) -> None:
    api = api_as("marketer")
    response = api.put(
        "/api/v1/customers/C1", {"traits": {"age": 34, "region": "Gangnam-gu"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["traits"] == {"age": 34, "region": "Gangnam-gu"}
    assert Customer.objects.get(customer_id="C1").traits == {"age": 34, "region": "Gangnam-gu"}
    assert mirror("C1") == {"age": 34, "region": "Gangnam-gu"}
    [event] = stream_of("C1")
    assert event["type"] == "profile_updated"
    assert event["attributes"] == {"age": 34, "region": "Gangnam-gu"}


def test_put_merges_traits_and_announces_only_changed_fields(api_as: Any) -> None:
    api = api_as("marketer")
    api.put("/api/v1/customers/C1", {"traits": {"age": 34, "region": "Jung-gu"}}, format="json")
    api.put("/api/v1/customers/C1", {"traits": {"age": 34}}, format="json")  # no change
    api.put("/api/v1/customers/C1", {"traits": {"age": 35, "region": None}}, format="json")
    assert mirror("C1") == {"age": 35}
    assert [event["attributes"] for event in stream_of("C1")] == [
        {"age": 34, "region": "Jung-gu"},
        {"age": 35, "region": None},
    ]


def test_put_names_the_bad_trait(api_as: Any) -> None:
    api = api_as("marketer")
    response = api.put(
        "/api/v1/customers/C1", {"traits": {"age": {"a": {"b": {"c": 1}}}}}, format="json"
    )
    assert response.status_code == 400
    assert "traits.age" in response.json()
    assert not Customer.objects.exists()
    assert stream_of("C1") == []


def test_analysts_read_but_do_not_write_profiles(api_as: Any) -> None:
    customer_upsert(customer_id="C1", traits={"age": 30})
    analyst = api_as("analyst")
    assert analyst.get("/api/v1/customers/C1").json()["traits"] == {"age": 30}
    assert analyst.put("/api/v1/customers/C1", {"traits": {}}, format="json").status_code == 403


def test_batch_upsert_accepts_valid_rows_and_names_rejected_ones(api_as: Any) -> None:
    customer_upsert(customer_id="C2", traits={"age": 20})
    response = api_as("marketer").post(
        "/api/v1/customers",
        {
            "customers": [
                {"customer_id": "C1", "traits": {"age": 41}},
                {"customer_id": "", "traits": {"age": 1}},
                {"customer_id": "C2", "traits": {"age": 20}},
                {"customer_id": "C3", "traits": "old"},
                {"customer_id": "C2", "traits": {"gender": "f"}},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "rejected": [
            {"index": 1, "field": "customer_id", "error": response.json()["rejected"][0]["error"]},
            {"index": 3, "field": "traits", "error": "must be an object of trait name → value"},
        ],
    }
    assert profile_mirror_get_many(["C1", "C2", "C3"]) == {
        "C1": {"age": 41},
        "C2": {"age": 20, "gender": "f"},
    }


def test_facts_set_by_rules_are_written_back_in_one_batch(db: None) -> None:
    customer_upsert(customer_id="C1", traits={"age": 30})
    customer_facts_apply(
        updates=[
            ("C1", {"interest": "savings"}),
            ("C9", {"interest": "loans"}),
            ("C1", {"tier": 2}),
        ]
    )
    assert Customer.objects.get(customer_id="C1").traits == {
        "age": 30,
        "interest": "savings",
        "tier": 2,
    }
    assert profile_mirror_get_many(["C1", "C9"]) == {
        "C1": {"age": 30, "interest": "savings", "tier": 2},
        "C9": {"interest": "loans"},
    }


def test_mirror_rebuild_restores_and_cleans(db: None) -> None:
    customer_upsert(customer_id="C1", traits={"age": 30})
    client = streams.redis_client()
    client.delete(streams.profile_key("C1"))
    client.set(streams.profile_key("ghost"), b"{}")
    out = io.StringIO()
    call_command("profile_mirror_rebuild", stdout=out)
    assert "1 profiles written, 1 stale" in out.getvalue()
    assert profile_mirror_get_many(["C1", "ghost"]) == {"C1": {"age": 30}}


CSV = "customer_id,age,region,vip\nC1,34,Gangnam-gu,true\n,20,Jung-gu,false\nC2,58,Mapo-gu,\n"


def test_csv_import_from_the_browser_runs_the_task_and_shows_progress(
    client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_as("marketer")
    customer_import_run_task.app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/customers/import/",
                {"file": SimpleUploadedFile("people.csv", CSV.encode(), "text/csv")},
            )
    finally:
        customer_import_run_task.app.conf.task_always_eager = False
    assert response.status_code == 302
    customer_import = CustomerImport.objects.get()
    assert (customer_import.status, customer_import.rows_total) == ("done", 3)
    assert (customer_import.created, customer_import.updated) == (2, 0)
    assert customer_import.errors[0]["line"] == 3
    assert mirror("C1") == {"age": 34, "region": "Gangnam-gu", "vip": True}
    page = client.get(response.url, HTTP_HX_REQUEST="true")
    assert b'data-status="done"' in page.content
    assert b"100%" in page.content
    assert b"hx-trigger" not in page.content  # polling stops when done


def test_import_command_reads_a_file(db: None, tmp_path: Any) -> None:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    out = io.StringIO()
    call_command("import_customers", str(path), stdout=out, stderr=io.StringIO())
    assert "done: 2 created, 0 updated, 1 rejected" in out.getvalue()
    assert Customer.objects.count() == 2


def test_customer_page_shows_traits_and_recent_events(client_as: Any) -> None:
    customer_upsert(customer_id="C1", traits={"age": 34})
    page = client_as("analyst").get("/customers/C1/")
    assert page.status_code == 200
    assert b"profile_updated" in page.content
    assert b"age" in page.content


@pytest.mark.parametrize("role", ["merchant"])
def test_merchants_cannot_see_customers(client_as: Any, role: str) -> None:
    customer_upsert(customer_id="C1", traits={"age": 34})
    assert client_as(role).get("/customers/C1/").status_code == 403
