"""The README's "Add it to an existing Django project", executed as written.

The test reads that section of README.md and does what it says, in order, in an empty directory:
each ```sh block's lines are run by bash (one shell per block, its exports and directory carried
to the next); a block whose first line reads `# <path>: add at the end`, `# <path>: a new
file` or `# <path>: the whole file` (`{# ... #}` in templates) is written to that path; the
long-running commands (`runserver`, `celery ... worker`, `celery ... beat`) are started in the
background. After the dev server first comes up it signs in, connects the sandbox (consent,
Allow), presses Sync now, opens the data page and disconnects, over real HTTP; after the worker
step it connects again, presses Sync now, follows the progress until the worker has synced, and
has the worker refresh a token (`refresh_tokens --enqueue`).

The only changes to the README's text: `path/to/django-stay-connected` becomes a clean copy of
this repository, `127.0.0.1:8000` a free port and `redis://127.0.0.1:6379/0` a Redis database
of the test's own; the environment adds the pinned versions of requirements*.txt
(PIP_CONSTRAINT). So the README cannot drift from what works.

Slow (builds the wheel, two pip installs, a server, a worker): runs with the packaging tests
(CI, `-m packaging`, PACKAGING_TESTS=1). The worker part needs Redis (REDIS_URL).
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.conftest import need
from tests.packaging.test_wheel_host import (
    REPO, _selected, _tail, clean_env, copy_tree, pinned_constraints)

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(3600)]

SECTION = "## Add it to an existing Django project"
CHECKOUT = "path/to/django-stay-connected"
ADDRESS = "127.0.0.1:8000"
BROKER = "redis://127.0.0.1:6379/0"
# Commands that serve until stopped: started in the background, by the name they are known by.
SERVERS = {"runserver": re.compile(r"manage\.py runserver\b"),
           "worker": re.compile(r"^celery -A \w+ worker\b"),
           "beat": re.compile(r"^celery -A \w+ beat\b")}
DIRECTIVE = re.compile(r"^(?:#|\{#)\s*(?P<path>[\w./-]+): (?P<how>add at the end|a new file|"
                       r"the whole file)\s*(?:#\})?$")
STEP_TIMEOUT = 1800
PASSWORD_LINE = re.compile(r"DJANGO_SUPERUSER_PASSWORD=(\S+) .*--username (\S+)")


@dataclass
class Step:
    kind: str  # "sh", "file" or "serve"
    text: str
    path: str = ""
    how: str = ""


def readme_steps(readme: str) -> list[Step]:
    """The section's fenced blocks, in order, as steps."""
    assert SECTION in readme, f"README.md has no {SECTION!r} section"
    body = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    steps = []
    for lang, block in re.findall(r"^```(\w*)\n(.*?)^```", body, re.M | re.S):
        first = block.split("\n", 1)[0]
        directive = DIRECTIVE.match(first)
        if directive:
            steps.append(Step("file", block, directive["path"], directive["how"]))
            continue
        assert lang == "sh", f"a ```{lang} block without a path directive: {first!r}"
        chunk = []
        for line in block.splitlines():
            name = next((n for n, p in SERVERS.items() if p.search(line.strip())), None)
            if name:
                if chunk:
                    steps.append(Step("sh", "\n".join(chunk)))
                    chunk = []
                steps.append(Step("serve", line.strip(), path=name))
            else:
                chunk.append(line)
        if any(line.strip() and not line.strip().startswith("#") for line in chunk):
            steps.append(Step("sh", "\n".join(chunk)))
    return steps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Shell:
    """Runs the README's steps in `root`, keeping the environment and directory between them,
    and the servers they start."""

    def __init__(self, root: Path, env: dict, logs: Path):
        self.cwd, self.env, self.logs = root, env, logs
        self.servers: dict[str, tuple[subprocess.Popen, Path]] = {}
        self.outputs: list[str] = []

    def sh(self, script: str, what: str) -> str:
        state = self.logs / "state"
        wrapped = (f"set -eo pipefail\n{script}\n"
                   f"env -0 > {state}.env\npwd > {state}.pwd\n")
        proc = subprocess.run(["bash", "-c", wrapped], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=STEP_TIMEOUT,
                              stdin=subprocess.DEVNULL)
        self.outputs.append(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            pytest.fail(f"README step failed ({what}): exit {proc.returncode}\n{script}\n"
                        f"--- stdout ---\n{_tail(proc.stdout)}\n--- stderr ---\n"
                        f"{_tail(proc.stderr)}", pytrace=False)
        raw = Path(f"{state}.env").read_bytes().decode()
        self.env = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
        self.cwd = Path(Path(f"{state}.pwd").read_text().strip())
        return proc.stdout + proc.stderr

    def write(self, step: Step):
        target = self.cwd / step.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if step.how == "add at the end":
            assert target.exists(), f"{step.path} should exist to be added to"
            with target.open("a") as f:
                f.write("\n" + step.text)
        else:
            assert step.how == "the whole file" or not target.exists(), \
                f"{step.path} is said to be new but exists"
            target.write_text(step.text)

    def serve(self, name: str, command: str):
        self.stop(name)
        log = self.logs / f"{name}.log"
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.cwd, env=self.env,
                                stdout=log.open("w"), stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.servers[name] = (proc, log)

    def log(self, name: str) -> str:
        return self.servers[name][1].read_text(errors="replace")

    def alive(self, name: str) -> bool:
        return self.servers[name][0].poll() is None

    def stop(self, name: str):
        proc, _ = self.servers.pop(name, (None, None))
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)

    def stop_all(self):
        for name in list(self.servers):
            self.stop(name)

    def manage(self, *args, what: str) -> str:
        return self.sh(" ".join(["python", "manage.py", *args]), what)


class Forms(HTMLParser):
    """Each form's action and the values a browser would submit (hidden fields, ticked
    checkboxes), by form."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": []})
        elif tag == "input" and self.forms and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            if attrs.get("type") == "submit":
                return
            self.forms[-1]["fields"].append((attrs["name"], attrs.get("value") or ""))


def forms(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def form_with(html: str, action_part: str) -> dict:
    found = [f for f in forms(html) if action_part in f["action"]]
    assert found, f"no form posting to ...{action_part} in:\n{html[:3000]}"
    return found[0]


class Browser:
    """A signed-in requests session on the dev server, posting forms as a browser does."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def get(self, path, **kwargs):
        return self.session.get(urljoin(self.base, path), timeout=60, **kwargs)

    def submit(self, page: requests.Response, action_part: str, extra=()):
        form = form_with(page.text, action_part)
        url = urljoin(page.url, form["action"] or page.url)
        return self.session.post(url, data=[*form["fields"], *extra], timeout=300,
                                 headers={"Referer": page.url})

    def sign_in(self, username, password):
        page = self.get("/integrations/")
        assert urlsplit(page.url).path == "/accounts/login/", page.url  # LOGIN_URL works
        done = self.submit(page, "", [("username", username), ("password", password)])
        assert urlsplit(done.url).path == "/integrations/", (done.url, done.text[:2000])
        return done

    def connect_sandbox(self, query=""):
        consent = self.get(f"/integrations/connect/sandbox/{query}")
        assert "/sandbox/o/authorize/" in consent.url, consent.url
        done = self.submit(consent, "", [("allow", "Authorize")])
        assert urlsplit(done.url).path == "/integrations/", (done.url, done.text[:3000])
        return done


def wait_for(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    assert predicate(), f"timed out after {timeout} s waiting for {what}"


def answers(url) -> bool:
    try:
        requests.get(url, timeout=2, allow_redirects=False)
        return True
    except requests.RequestException:
        return False


def integration_id(page_html: str) -> int:
    ids = re.findall(r'data-integration="(\d+)"', page_html)
    assert len(ids) == 1, ids
    return int(ids[0])


def flow_without_a_worker(browser, shell, username, password):
    """Step 8's promise: sign in, connect the sandbox, Sync now, the data page, disconnect."""
    # Only what the README installed: the worker step's [redis] extra is what brings kombu's
    # Redis transport its `packaging` (the extra once lacked it and a worker could not start).
    probe = shell.sh("python -c \"import importlib.util as u; print(u.find_spec('packaging'))\"",
                     "is packaging installed?")
    assert probe.strip() == "None", "something besides the [redis] extra installs packaging"
    page = browser.sign_in(username, password)
    assert "Google Business Profile (sandbox)" in page.text
    css = re.search(r'href="([^"]*integrations\.css)"', page.text)
    assert css and browser.get(css[1]).status_code == 200  # static files from the wheel
    page = browser.connect_sandbox()
    assert "Connected Google Business Profile (sandbox)" in page.text, page.text[:3000]
    pk = integration_id(page.text)
    # No worker yet: the sync runs on a background thread of the server, the click returns at
    # once and the page follows its progress.
    detail = browser.submit(page, f"/integrations/gbp/{pk}/sync/")
    assert urlsplit(detail.url).path == f"/integrations/gbp/{pk}/"
    assert "Sync queued" in detail.text or "Sync finished" in detail.text, detail.text[:3000]

    def synced():
        return not browser.get(f"/integrations/gbp/{pk}/sync/status/").json()["syncing"]

    wait_for(synced, 120, "the sync on its background thread")
    detail = browser.get(f"/integrations/gbp/{pk}/")
    assert "No locations synced yet" not in detail.text
    assert re.search(r"Synced \d+ locations", detail.text), detail.text[:3000]
    assert re.search(r"Overview of \d+ locations", detail.text), detail.text[:3000]
    page = browser.submit(browser.get("/integrations/"), f"/integrations/{pk}/disconnect/")
    assert "Disconnected Google Business Profile (sandbox)" in page.text
    return pk


def flow_with_a_worker(browser, shell, pk):
    """Step 9's promise: Sync now returns at once, the worker syncs, the page follows; and the
    worker refreshes a token handed to it by refresh_tokens --enqueue."""
    wait_for(lambda: "ready." in shell.log("worker"), 120, "the worker to be ready")
    page = browser.connect_sandbox(f"?integration={pk}")
    assert "Reconnected Google Business Profile (sandbox)" in page.text, page.text[:3000]
    # Five minutes later (Sync now is throttled to once in GBP_SYNC_NOW_MIN_INTERVAL).
    later = ("from datetime import timedelta; from django.utils import timezone; "
             "from gbp.models import GbpSyncState as S; "
             f"S.objects.filter(integration_id={pk}).update("
             "requested_at=timezone.now() - timedelta(minutes=6))")
    shell.manage("shell", "-c", shlex.quote(later), what="five minutes later")
    detail = browser.submit(page, f"/integrations/gbp/{pk}/sync/")
    assert "Sync queued" in detail.text, detail.text[:3000]

    def synced():
        status = browser.get(f"/integrations/gbp/{pk}/sync/status/").json()
        return not status["syncing"]

    wait_for(synced, 180, "the worker to sync")
    detail = browser.get(f"/integrations/gbp/{pk}/")
    assert "No background worker" not in detail.text
    assert "failed" not in re.search(r"Last sync:[^<]*", detail.text)[0], detail.text[:3000]
    assert "succeeded" in shell.log("worker") and "gbp.tasks.sync_integration" in shell.log(
        "worker")

    age = ("from datetime import timedelta; from django.utils import timezone; "
           "from integrations.models import OAuthCredential as C; "
           f"C.objects.filter(integration_id={pk}).update("
           "expires_at=timezone.now() + timedelta(minutes=10), "
           "last_refreshed_at=timezone.now() - timedelta(hours=1))")
    shell.manage("shell", "-c", shlex.quote(age), what="a token due for refresh")
    out = shell.manage("refresh_tokens", "--enqueue", what="refresh_tokens --enqueue")
    assert "enqueued 1" in out, out
    later = ("from integrations.models import OAuthCredential as C; "
             "from django.utils import timezone; from datetime import timedelta; "
             f"print(C.objects.filter(integration_id={pk}, "
             "expires_at__gt=timezone.now() + timedelta(minutes=30)).count())")

    def refreshed():
        return shell.manage("shell", "-c", shlex.quote(later), what="refreshed?").strip()[-1:] == "1"

    wait_for(refreshed, 120, "the worker to refresh the token", interval=2)
    assert "integrations.tasks.refresh_batch" in shell.log("worker")


@pytest.fixture
def redis_database():
    url = os.environ.get("REDIS_URL", "")
    need(bool(url), "no REDIS_URL: the README's worker step runs in the PostgreSQL + Redis pass")
    parts = urlsplit(url)
    # A database of its own: the suite's own workers listen on the default one.
    return f"{parts.scheme}://{parts.netloc}/11"


def test_the_readme_install_steps_work_as_written(request, tmp_path, redis_database):
    if not _selected(request.config):
        pytest.skip("slow (builds the wheel, two pip installs, a server and a worker): runs "
                    "under CI=true, with `-m packaging`, or with PACKAGING_TESTS=1")
    readme = (REPO / "README.md").read_text()
    port = free_port()
    checkout = copy_tree(REPO, tmp_path / "checkout", ".git", ".venv", "venv", "build", "dist",
                         "*.egg-info", "test-artifacts", ".hypothesis", ".benchmarks",
                         "staticfiles", "node_modules")
    text = (readme.replace(CHECKOUT, str(checkout)).replace(ADDRESS, f"127.0.0.1:{port}")
            .replace(BROKER, redis_database))
    steps = readme_steps(text)
    assert [s.path for s in steps if s.kind == "serve"] == [
        "runserver", "worker", "beat", "runserver"], steps
    (project := tmp_path / "project").mkdir()
    (logs := tmp_path / "logs").mkdir()
    import redis

    redis.Redis.from_url(redis_database).flushdb()
    env = clean_env(None, PIP_CONSTRAINT=str(pinned_constraints(tmp_path / "pins.txt")),
                    HOME=str(tmp_path))
    shell = Shell(project, env, logs)
    base = f"http://127.0.0.1:{port}"
    username, password = next((m[2], m[1]) for m in PASSWORD_LINE.finditer(text))
    browser, pk, served = Browser(base), None, 0
    try:
        for n, step in enumerate(steps):
            if step.kind == "sh":
                out = shell.sh(step.text, f"block {n}")
                if "manage.py check" in step.text:
                    assert "System check identified no issues" in out, out
            elif step.kind == "file":
                shell.write(step)
            else:
                shell.serve(step.path, step.text)
                if step.path != "runserver":
                    continue
                served += 1
                wait_for(lambda: answers(base) or not shell.alive("runserver"), 60,
                         "the dev server")
                assert shell.alive("runserver"), shell.log("runserver")
                if served == 1:
                    pk = flow_without_a_worker(browser, shell, username, password)
                else:
                    flow_with_a_worker(browser, shell, pk)
        assert served == 2
        assert shell.alive("beat"), shell.log("beat")
        assert shell.alive("worker"), shell.log("worker")
    except BaseException:
        for name in list(shell.servers):
            print(f"--- {name} log ---\n{_tail(shell.log(name), 8000)}")
        raise
    finally:
        shell.stop_all()
    everything = "\n".join(shell.outputs) + "".join(
        (logs / f"{name}.log").read_text(errors="replace")
        for name in ("runserver", "worker", "beat") if (logs / f"{name}.log").exists())
    assert "Traceback" not in everything, _tail(everything)
