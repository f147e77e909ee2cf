"""The demo's language: English unless the visitor chooses otherwise with the site's switcher
(Django's set_language behind LocaleMiddleware); a signed-in user's choice is kept on their
account, for what is sent to them."""

from django.conf import settings

from accounts.models import Team


def choose(client, language, page="/integrations/"):
    return client.post("/i18n/setlang/", {"language": language}, HTTP_REFERER=page)


def test_it_is_english_until_the_visitor_chooses(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in html and "Log in" in html
    assert 'value="de" lang="de"' in html  # the switcher offers Deutsch


def test_it_switches_a_visitor_to_german_and_back(client, db):
    r = choose(client, "de", "/accounts/login/")
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    html = client.get("/accounts/login/").content.decode()
    assert '<html lang="de">' in html and "Anmelden" in html and "Log in" not in html
    choose(client, "en", "/accounts/login/")
    assert "Log in" in client.get("/accounts/login/").content.decode()


def test_it_keeps_a_signed_in_users_choice(client, owner):
    client.force_login(owner)
    choose(client, "de")
    owner.refresh_from_db()
    assert owner.language == "de"
    html = client.get("/integrations/").content.decode()
    assert "Meine Integrationen" in html and "Abmelden" in html


def test_it_keeps_no_language_it_does_not_offer(client, owner):
    client.force_login(owner)
    choose(client, "fr")
    owner.refresh_from_db()
    assert owner.language == ""
    assert "My integrations" in client.get("/integrations/").content.decode()


def test_it_welcomes_and_names_a_new_team_in_the_language_of_sign_up(client, db):
    choose(client, "de", "/accounts/signup/")
    r = client.post("/accounts/signup/", {
        "username": "dora", "email": "dora@example.com",
        "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}, follow=True)
    assert "Willkommen! Verbinden Sie unten Ihr erstes Konto." in r.content.decode()
    assert Team.objects.get(memberships__user__username="dora").name == "Team von dora"
