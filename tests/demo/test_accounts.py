from django.urls import reverse


def test_it_serves_the_login_page(client, db):
    r = client.get(reverse("login"))
    assert r.status_code == 200
    assert b"Log in" in r.content


def test_it_redirects_anonymous_users_to_login(client, db):
    r = client.get(reverse("integrations:index"))
    assert r.status_code == 302
    assert r["Location"].startswith(reverse("login"))


def test_it_signs_up_and_logs_in(client, db, django_user_model):
    r = client.post(
        reverse("signup"),
        {"username": "dora", "email": "dora@example.com",
         "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert r.status_code == 302
    assert django_user_model.objects.get(username="dora").email == "dora@example.com"
    assert client.get(reverse("integrations:index")).status_code == 200


def test_it_requires_an_email_to_sign_up(client, db, django_user_model):
    r = client.post(
        reverse("signup"),
        {"username": "eve", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert r.status_code == 200
    assert not django_user_model.objects.filter(username="eve").exists()


def test_it_logs_in_with_a_password(client, db, owner):
    r = client.post(reverse("login"), {"username": "alice", "password": "pw-alice-1"})
    assert r.status_code == 302
    assert client.get(reverse("integrations:index")).status_code == 200


def test_it_logs_out_with_post(client, db, owner):
    client.force_login(owner)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("integrations:index")).status_code == 302
