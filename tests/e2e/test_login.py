import pytest


@pytest.mark.django_db(transaction=True)
def test_marketer_logs_in_through_the_real_form(live_server, page, make_user):
    # given
    make_user("marketer", username="mira")
    # when
    page.goto(f"{live_server.url}/campaigns/")
    page.fill("#id_username", "mira")
    page.fill("#id_password", "correct horse 9")
    page.click("button[type=submit]")
    # then
    page.wait_for_url(f"{live_server.url}/campaigns/")
    assert page.text_content("[data-testid=page-title]") == "Campaigns"
    assert "mira" in page.text_content("[data-testid=signed-in-as]")


@pytest.mark.django_db(transaction=True)
def test_wrong_password_in_the_browser_shows_an_error(live_server, page, make_user):
    make_user("analyst", username="ana")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", "nope")
    page.click("button[type=submit]")
    assert page.is_visible("[data-testid=login-error]")
