"""TEMPORARY (not to be kept): computed-style fingerprints of the demo's pages."""
import json, os, re
import pytest
from gbp.sync import GbpSyncService
from integrations import tokens
from tests.helpers import log_in

pytestmark = pytest.mark.browser
OUT = os.environ.get("FP_OUT", "/tmp/shots/before")
PROPS = ["display", "fontFamily", "fontSize", "fontWeight", "lineHeight", "color", "backgroundColor",
         "borderTopColor", "borderTopWidth", "borderRadius", "paddingTop", "paddingLeft", "marginTop",
         "marginLeft", "width", "height", "boxSizing", "listStyleType", "gridTemplateColumns",
         "textDecorationLine", "overflowWrap", "maxWidth"]
JS = """props => [...document.querySelectorAll('body, body *')].filter(e => !e.closest('svg') || e.tagName == 'svg').map(e => {
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  const o = {tag: e.tagName + '.' + [...e.classList].join('.'), x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.width), h: Math.round(r.height)};
  for (const p of props) o[p] = s[p];
  return o; })"""

def dump(page, name):
    os.makedirs(OUT, exist_ok=True)
    with open(f"{OUT}/{name}.json", "w") as f:
        json.dump(page.evaluate(JS, PROPS), f, indent=0)
    page.screenshot(path=f"{OUT}/{name}.png", full_page=True)

@pytest.mark.parametrize("width", [390, 1280])
def test_fp(connected, sandbox, page, owner, staff, width, make_integration, settings):
    settings.GBP_BACKFILL_DAYS = 5
    GbpSyncService().sync(connected)
    broken = make_integration(owner, "sandbox", display_name="a-very-long-address-" * 3 + "@x.com")
    tokens.mark_reauth_required(broken, "invalid_grant", "Token has been expired or revoked.")
    make_integration(owner, "sandbox", status="disconnected")
    page.set_viewport_size({"width": width, "height": 900})
    for path in ("/accounts/login/", "/accounts/signup/"):
        page.goto(sandbox.base_url + path)
        dump(page, f"{width}-{path.strip('/').replace('/', '-')}")
    page.fill("#id_username", "dora"); page.fill("#id_email", "dora@example.com")
    page.fill("#id_password1", "a-long-pass-phrase-9"); page.fill("#id_password2", "x-different-9")
    page.click("button[type=submit]"); page.wait_for_load_state()
    dump(page, f"{width}-signup-errors")
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    for path in ("/integrations/", f"/integrations/gbp/{connected.pk}/",
                 f"/integrations/gbp/{broken.pk}/", "/sandbox/", "/integrations/callback/sandbox/?state=bad"):
        page.goto(sandbox.base_url + path)
        dump(page, f"{width}-{path.strip('/').replace('/', '-').replace(str(connected.pk), 'ok').replace(str(broken.pk), 'broken').replace('?state=bad', '')}")
    page.goto(sandbox.base_url + "/sandbox/")
    page.locator("form[action$='/expire/'] button").click(); page.wait_for_load_state()
    dump(page, f"{width}-sandbox-msg")
    page.context.clear_cookies()
    log_in(page, sandbox.base_url, "carol", "pw-carol-1")
    page.goto(sandbox.base_url + "/sandbox/")
    dump(page, f"{width}-sandbox-staff")
    page.goto(sandbox.base_url + "/integrations/connect/sandbox/")
    dump(page, f"{width}-consent")
