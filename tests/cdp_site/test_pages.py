import subprocess
import sys

import pytest


@pytest.mark.django_db
def test_wrong_password_shows_the_login_page_with_an_error(client, make_user):
    make_user("marketer", username="mira")
    response = client.post("/login/", {"username": "mira", "password": "wrong"})
    assert response.status_code == 200
    assert b'data-testid="login-error"' in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db
def test_unknown_url_gives_a_proper_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"We could not find that page." in response.content


@pytest.mark.django_db
def test_korean_language_switch_translates_the_login_page(client):
    client.post("/i18n/setlang/", {"language": "ko", "next": "/login/"})
    response = client.get("/login/")
    assert "로그인".encode() in response.content


def test_production_settings_stop_when_a_required_variable_is_missing():
    # given a production start-up without DJANGO_SECRET_KEY
    environment = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "cdp_site.settings.production",
    }
    # when
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=environment,
        capture_output=True,
        text=True,
    )
    # then
    assert result.returncode != 0
    assert "The environment variable DJANGO_SECRET_KEY is required" in result.stderr


def test_debug_is_off_unless_asked_for(settings):
    assert settings.DEBUG is False
