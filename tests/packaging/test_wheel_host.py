"""The wheel, installed into a fresh virtualenv with a host project of its own.

Builds the `django-stay-connected` wheel from a clean copy of the working tree, installs it (with
the `sandbox` and `postgres` extras, pytest and pytest-django, at the versions pinned in the
requirements files) into a new virtualenv, and runs the minimal host project in
tests/packaging/hostproject/ against it: Django's default User, no `accounts` app, its own
settings and URLs, the sandbox mounted at /sandbox/. Its own pytest run goes through connect →
refresh → sync → disconnect on SQLite and, when DATABASE_URL is PostgreSQL, on a PostgreSQL
database of its own (never the main suite's).

Slow (a build, a virtualenv, a pip install): it runs under CI=true or when selected with
`-m packaging` (or PACKAGING_TESTS=1), and says so when it skips.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import _in_ci, need

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(3600)]

REPO = Path(__file__).resolve().parents[2]
HOST = Path(__file__).resolve().parent / "hostproject"
DIST_NAME = "django-stay-connected"

# Generous: a cold pip cache downloads Django, Celery, the Google client and friends.
BUILD_TIMEOUT = 900
INSTALL_TIMEOUT = 1800
COMMAND_TIMEOUT = 600
HOST_TESTS_TIMEOUT = 1200

# What the wheel must hold (templates, static files, migrations of all three apps)...
REQUIRED_FILES = [
    "integrations/templates/integrations/index.html",
    "integrations/templates/integrations/base.html",
    "integrations/templates/integrations/email/reauth_required.txt",
    "integrations/templates/integrations/email/reauth_required_subject.txt",
    "integrations/templates/integrations/assets.html",
    "gbp/static/gbp/sync.js",
    "integrations/static/integrations/integrations.css",
    "integrations/migrations/0001_initial.py",
    "integrations/management/commands/refresh_tokens.py",
    "gbp/templates/gbp/detail.html",
    "gbp/migrations/0001_initial.py",
    "sandbox/templates/sandbox/consent.html",
    "sandbox/migrations/0001_initial.py",
    "sandbox/pytest_plugin.py",
    "integrations/locale/de/LC_MESSAGES/django.po",
    "integrations/locale/de/LC_MESSAGES/django.mo",
    "gbp/locale/de/LC_MESSAGES/django.po",
    "gbp/locale/de/LC_MESSAGES/django.mo",
    "sandbox/locale/de/LC_MESSAGES/django.po",
    "sandbox/locale/de/LC_MESSAGES/django.mo",
]
# ...and the only top-level packages it may hold (no config, accounts, tests, bench).
ALLOWED_TOP_LEVEL = {"integrations", "gbp", "sandbox"}

# Never inherited by the host's processes: the outer suite's Django and pytest configuration,
# our apps' settings read from the environment (sandbox.conf reads SANDBOX_*), and the
# OAUTHLIB_INSECURE_TRANSPORT our own IntegrationsConfig.ready() set in this process.
DROPPED_VARS = {
    "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS", "PYTEST_CURRENT_TEST", "OAUTHLIB_INSECURE_TRANSPORT", "DATABASE_URL",
    "REDIS_URL", "SECRET_KEY", "FERNET_KEYS", "DEBUG", "ALLOWED_HOSTS",
    "EMAIL_URL", "LOG_LEVEL", "SECURE_SSL_REDIRECT",
}
DROPPED_PREFIXES = ("DJANGO_", "TEST_SQLITE_PATH", "SANDBOX_", "INTEGRATIONS_", "INTEGRATION_", "CELERY_", "GBP_",
                    "OAUTH_", "GOOGLE_", "MICROSOFT_", "AMAZON_", "HOSTPROJECT_")


def _selected(config) -> bool:
    markexpr = config.getoption("markexpr", default="") or ""
    return (_in_ci() or os.environ.get("PACKAGING_TESTS", "").lower() in ("1", "true", "yes")
            or re.search(r"(?<!not )\bpackaging\b", markexpr) is not None)


def clean_env(venv_dir: Path | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in DROPPED_VARS and not k.startswith(DROPPED_PREFIXES)}
    if venv_dir is not None:
        env["PATH"] = f"{venv_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv_dir)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _tail(text: str, limit: int = 20000) -> str:
    text = text or ""
    if len(text) <= limit:
        return text
    return f"[... {len(text) - limit} chars cut ...]\n{text[-limit:]}"


def run(cmd, *, cwd, env, timeout, what):
    """Run a command; fail the test with its whole story (stdout and stderr) unless it exits 0."""
    cmd = [str(c) for c in cmd]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(f"{what}: timed out after {timeout} s\n$ {' '.join(cmd)}\n"
                    f"--- stdout ---\n{_tail(out)}\n--- stderr ---\n{_tail(err)}", pytrace=False)
    elapsed = time.monotonic() - started
    print(f"[packaging] {what}: {elapsed:.1f} s")
    if proc.returncode != 0:
        # pytest.fail, not assert: pytest cuts long assertion messages short outside CI.
        pytest.fail(f"{what}: exit {proc.returncode}\n$ {' '.join(cmd)}\n"
                    f"--- stdout ---\n{_tail(proc.stdout)}\n--- stderr ---\n{_tail(proc.stderr)}",
                    pytrace=False)
    return proc


def pinned_constraints(path: Path) -> Path:
    """requirements.txt + requirements-dev.txt as a pip constraints file (pins only: pip
    refuses extras such as psycopg[binary] in constraints)."""
    lines = []
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            lines.append(re.sub(r"\[[^\]]*\]", "", line))
    path.write_text("\n".join(lines) + "\n")
    return path


def copy_tree(src: Path, dst: Path, *ignored):
    return shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "*.sqlite3", "*.sqlite3-*", ".pytest_cache", *ignored))


@pytest.fixture(scope="module")
def wheel(request, tmp_path_factory) -> Path:
    """The wheel, built with `python -m build` from a copy of the working tree (so no stale
    build/ directory or egg-info can leak into it, and none is left in the repository)."""
    if not _selected(request.config):
        pytest.skip("slow (builds the wheel, creates a virtualenv, pip-installs it and runs a "
                    "host project; ~35-50 s, longer on a cold pip cache): runs under CI=true, "
                    "with `-m packaging`, or with PACKAGING_TESTS=1")
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail("the `build` package is missing: pip install -r requirements-dev.txt")
    base = tmp_path_factory.mktemp("wheel")
    src = copy_tree(REPO, base / "src", ".git", ".venv", "venv", "build", "dist", "*.egg-info",
                    "test-artifacts", ".hypothesis", ".benchmarks", "staticfiles",
                    "node_modules")
    out = base / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", out, src], cwd=src,
        env=clean_env(), timeout=BUILD_TIMEOUT, what="python -m build --wheel")
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    size = wheels[0].stat().st_size
    print(f"[packaging] {wheels[0].name}: {size / 1024:.0f} KiB")
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv (no system site-packages) with the wheel and the host's test tools."""
    base = tmp_path_factory.mktemp("venv")
    venv_dir = base / "venv"
    run([sys.executable, "-m", "venv", venv_dir], cwd=base, env=clean_env(),
        timeout=COMMAND_TIMEOUT, what="python -m venv")
    constraints = pinned_constraints(base / "constraints.txt")
    run([venv_dir / "bin" / "python", "-m", "pip", "install", "--no-input",
         "-c", constraints, f"{wheel}[sandbox,postgres]", "pytest", "pytest-django"],
        cwd=base, env=clean_env(venv_dir), timeout=INSTALL_TIMEOUT,
        what="pip install the wheel[sandbox,postgres] + pytest + pytest-django")
    run([venv_dir / "bin" / "python", "-m", "pip", "check"], cwd=base,
        env=clean_env(venv_dir), timeout=COMMAND_TIMEOUT, what="pip check")
    return venv_dir


def python(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def host_copy(tmp_path: Path) -> Path:
    return copy_tree(HOST, tmp_path / "hostproject")


def test_the_wheel_holds_the_three_apps_and_their_files(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == ALLOWED_TOP_LEVEL, top
    missing = [f for f in REQUIRED_FILES if f not in names]
    assert not missing, missing
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Every app file of the working tree is in the wheel (no template or migration forgotten).
    tree = {str(p.relative_to(REPO)) for app in ALLOWED_TOP_LEVEL for p in (REPO / app).rglob("*")
            if p.is_file() and p.suffix in {".py", ".html", ".txt", ".css", ".js"}
            and "__pycache__" not in p.parts}
    assert not tree - names, sorted(tree - names)


def test_the_installed_wheel_is_the_one_imported(venv, tmp_path):
    script = (
        "import importlib.metadata as m, json, sys\n"
        "import integrations, gbp, sandbox\n"
        f"dist = m.distribution({DIST_NAME!r})\n"
        "print(json.dumps({'files': [str(f) for f in dist.files],\n"
        "    'requires': dist.requires,\n"
        "    'modules': [integrations.__file__, gbp.__file__, sandbox.__file__],\n"
        "    'prefix': sys.prefix, 'base_prefix': sys.base_prefix, 'path': sys.path}))\n"
    )
    proc = run([python(venv), "-c", script], cwd=tmp_path, env=clean_env(venv),
               timeout=COMMAND_TIMEOUT, what="inspect the installed distribution")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    files = info["files"]
    top = {f.split("/", 1)[0] for f in files
           if not f.split("/", 1)[0].endswith(".dist-info") and not f.startswith("..")}
    assert top == ALLOWED_TOP_LEVEL, top
    for required in REQUIRED_FILES:
        assert required in files, required
    for module in info["modules"]:
        assert Path(module).resolve().is_relative_to(venv.resolve()), module
    assert info["prefix"] != info["base_prefix"]  # a virtualenv of its own...
    assert not [p for p in info["path"] if p and Path(p).resolve().is_relative_to(REPO)], \
        info["path"]  # ...that cannot see the repository's packages
    assert any("django-oauth-toolkit" in r and 'extra == "sandbox"' in r
               for r in info["requires"]), info["requires"]


def test_integrations_and_gbp_work_without_the_sandbox(venv, tmp_path):
    project = host_copy(tmp_path)
    proc = run([python(venv), "check_core_only.py"], cwd=project,
               env=clean_env(venv, HOSTPROJECT_SANDBOX="0"), timeout=COMMAND_TIMEOUT,
               what="integrations + gbp without the sandbox extra")
    imported = json.loads(proc.stdout.strip().splitlines()[-1])["imported"]
    assert "integrations.tokens.refresh" in imported and "gbp.sync" in imported


@pytest.fixture
def postgres_database():
    """A PostgreSQL database of this test's own (and its test_ twin, which the host's
    pytest-django creates), dropped afterwards. Never the one DATABASE_URL names."""
    url = os.environ.get("DATABASE_URL", "")
    need(url.startswith(("postgres://", "postgresql://")),
         "DATABASE_URL is not postgres://...: the PostgreSQL host-project run is in the "
         "PostgreSQL pass")
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    params = {
        "HOSTPROJECT_DB_ENGINE": "postgresql",
        "HOSTPROJECT_DB_NAME": f"hostproject_{os.getpid()}",
        "HOSTPROJECT_DB_USER": unquote(parts.username or ""),
        "HOSTPROJECT_DB_PASSWORD": unquote(parts.password or ""),
        "HOSTPROJECT_DB_HOST": parts.hostname or "",
        "HOSTPROJECT_DB_PORT": str(parts.port or ""),
    }
    names = [params["HOSTPROJECT_DB_NAME"], f"test_{params['HOSTPROJECT_DB_NAME']}"]
    conninfo = {"dbname": "postgres", "user": params["HOSTPROJECT_DB_USER"] or None,
                "password": params["HOSTPROJECT_DB_PASSWORD"] or None,
                "host": params["HOSTPROJECT_DB_HOST"] or None,
                "port": params["HOSTPROJECT_DB_PORT"] or None, "connect_timeout": 10}
    conninfo = {k: v for k, v in conninfo.items() if v is not None}

    def drop_all(conn):
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

    with psycopg.connect(autocommit=True, **conninfo) as conn:
        drop_all(conn)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names[0])))
    yield params
    with psycopg.connect(autocommit=True, **conninfo) as conn:
        drop_all(conn)


# The host project's own tests (hostproject/hostproject/test_flow.py), all of which must pass.
HOST_TESTS = 7


# Each user model once and each database once (a host run is ~50 s of CI): Django's own user
# on SQLite, an email-keyed model on SQLite, a handle-keyed model with its own primary key
# field on PostgreSQL.
@pytest.mark.parametrize("database,user_model", [
    ("sqlite", "default"), ("sqlite", "email"),
    pytest.param("postgres", "handle", marks=pytest.mark.postgres),
])
def test_a_host_project_connects_refreshes_syncs_and_disconnects(venv, database, user_model,
                                                                 tmp_path, request):
    """Django's User, an email-only user model without `username`, and one with no email
    field and a UUID key: the same flow, admin search, notices, token_health, the sandbox's
    commands, and no traceback anywhere."""
    db_env = request.getfixturevalue("postgres_database") if database == "postgres" else {}
    project = host_copy(tmp_path)
    env = clean_env(venv, HOSTPROJECT_USER=user_model, **db_env)
    py = python(venv)
    what = f"({database}, {user_model} user)"
    check = run([py, "manage.py", "check"], cwd=project, env=env, timeout=COMMAND_TIMEOUT,
                what=f"manage.py check {what}")
    assert "WARNINGS" not in check.stderr, check.stderr
    migrate = run([py, "manage.py", "migrate", "--noinput"], cwd=project, env=env,
                  timeout=COMMAND_TIMEOUT, what=f"manage.py migrate {what}")
    for app in ("integrations", "gbp", "sandbox", "oauth2_provider", "django_celery_beat"):
        assert f"Applying {app}." in migrate.stdout, (app, migrate.stdout)
    if database == "sqlite":
        assert (project / "db.sqlite3").exists()
    proc = run([py, "-m", "pytest", "-v"], cwd=project, env=env, timeout=HOST_TESTS_TIMEOUT,
               what=f"the host project's tests {what}")
    summary = proc.stdout.strip().splitlines()[-1]
    if not re.search(rf"\b{HOST_TESTS} passed\b", summary) or re.search(
            r"failed|error|skipped|deselected", summary):
        pytest.fail(f"the host project's tests did not all run and pass:\n{_tail(proc.stdout)}",
                    pytrace=False)
    assert "Traceback" not in check.stderr + migrate.stderr + migrate.stdout
