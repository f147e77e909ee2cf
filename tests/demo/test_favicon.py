"""The site icon: browsers ask for one on every first load (admin pages included)."""


def test_it_serves_an_icon_where_browsers_look_for_it(client, db):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"
    assert b"<svg" in r.content and "max-age" in r["Cache-Control"]


def test_it_declares_the_icon_on_the_demo_pages(client, db):
    assert b'rel="icon" href="/favicon.ico"' in client.get("/accounts/login/").content
