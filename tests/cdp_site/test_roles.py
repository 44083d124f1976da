import pytest
from django.urls import reverse

MARKETER_PAGES = ["campaigns:list"]


@pytest.mark.parametrize("role", ["merchant", "analyst"])
@pytest.mark.parametrize("page_name", MARKETER_PAGES)
def test_marketer_page_is_forbidden_to_other_roles(client_as, role, page_name):
    # given
    client = client_as(role)
    # when
    response = client.get(reverse(page_name))
    # then
    assert response.status_code == 403
    assert b"You do not have access to this page." in response.content


def test_marketer_api_is_forbidden_to_merchants_and_read_only_for_analysts(api_as):
    response = api_as("merchant").get("/api/v1/campaigns")
    assert response.status_code == 403
    assert "error" in response.json()
    analyst = api_as("analyst")
    assert analyst.get("/api/v1/campaigns").status_code == 200
    assert analyst.post("/api/v1/campaigns", {}, format="json").status_code == 403


def test_marketer_opens_marketer_page_and_api(client_as, api_as):
    assert client_as("marketer").get(reverse("campaigns:list")).status_code == 200
    assert api_as("marketer").get("/api/v1/campaigns").status_code == 200


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("campaigns:list"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/campaigns/"


@pytest.mark.django_db
def test_anonymous_api_call_is_refused(client):
    assert client.get("/api/v1/campaigns").status_code == 403


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("marketer", "/campaigns/"),
        ("analyst", "/campaigns/dashboards/"),
        ("merchant", "/merchant/"),
        ("admin", "/campaigns/"),
    ],
)
def test_home_sends_each_role_to_its_own_page(client_as, role, home):
    client = client_as(role)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == home
    assert client.get(home).status_code == 200


def test_merchant_portal_shows_own_merchant_name(client_as):
    from merchants.models import Merchant

    merchant = Merchant.objects.create(name="Bakery Seoul")
    response = client_as("merchant", merchant=merchant).get("/merchant/")
    assert response.status_code == 200
    assert b"Bakery Seoul" in response.content
