"""The German catalogues are complete: every string the sources mark has a translation.

makemessages runs over a copy of the repository (the committed .po files are never rewritten)
and what it finds is compared with the committed catalogues: a marked string missing from a
catalogue, an entry no longer in the sources, an empty or fuzzy translation, German plural forms
other than two, or placeholders that differ from the msgid's (msgfmt --check-format) fail here.
The header entry is not checked for content. Obsolete entries (`#~`, what makemessages keeps of
a string removed from the sources) are allowed: nothing compiles them.

To fix a failure: `make makemessages`, translate what it added, remove the fuzzy flags.
"""

import gettext
import shutil
import subprocess

import pytest

from tests.conftest import need
from tools import messages

# Not sources of the product or the demo host, or too big to copy for nothing.
NOT_COPIED = (".git", ".venv", "venv", "node_modules", "test-artifacts", "staticfiles", "build",
              "dist", "*.egg-info", "__pycache__", "*.pyc", "*.mo", "*.sqlite3", "*.sqlite3-*",
              ".pytest_cache", ".hypothesis", ".benchmarks", "tests", "bench")
EXPECTED = [f"{base}locale/{code}/LC_MESSAGES/django.po" for code in messages.LANGUAGES
            for base in [f"{app}/" for app in messages.APPS] + [""]]
PLURAL_FORMS = {"de": "nplurals=2; plural=(n != 1);"}


def catalogue_paths():
    return [messages.REPO / path for path in EXPECTED]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """The repository's sources with catalogues makemessages has just updated."""
    need(all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msguniq")),
         "GNU gettext (apt-get install gettext): makemessages needs xgettext and msgmerge")
    root = tmp_path_factory.mktemp("messages") / "repo"
    shutil.copytree(messages.REPO, root, ignore=shutil.ignore_patterns(*NOT_COPIED))
    messages.makemessages(root)
    return root


def active(path) -> dict:
    """A catalogue's live entries (not the header, not obsolete) by (context, msgid)."""
    return {e.key: e for e in messages.read_po(path) if e.msgid and not e.obsolete}


def label(key) -> str:
    context, msgid = key
    return f"{msgid!r}" + (f" (context {context!r})" if context else "")


def problems(committed_path, regenerated_path) -> list[str]:
    """What is wrong with a committed catalogue, given what makemessages found in the sources."""
    committed, found = active(committed_path), active(regenerated_path)
    header = next((e for e in messages.read_po(committed_path) if not e.msgid), None)
    out = [f"in the sources, not in the catalogue: {label(k)}" for k in found if k not in committed]
    out += [f"in the catalogue, no longer in the sources: {label(k)}"
            for k in committed if k not in found]
    out += [f"plural changed in the sources: {label(k)}" for k, e in committed.items()
            if k in found and e.msgid_plural != found[k].msgid_plural]
    out += [f"fuzzy: {label(k)}" for k, e in committed.items() if e.fuzzy]
    out += [f"untranslated: {label(k)}" for k, e in committed.items() if not e.translated]
    code = committed_path.parent.parent.name
    if header is None or f"Plural-Forms: {PLURAL_FORMS[code]}" not in header.fields["msgstr"]:
        out.append(f"the header does not say Plural-Forms: {PLURAL_FORMS[code]}")
    nplurals = int(PLURAL_FORMS[code].split(";")[0].split("=")[1])
    out += [f"{len(e.msgstrs)} plural forms instead of {nplurals}: {label(k)}"
            for k, e in committed.items() if e.msgid_plural is not None
            and len(e.msgstrs) != nplurals]
    return out


def test_it_has_a_german_catalogue_for_each_app_and_the_demo_host():
    missing = [path for path in EXPECTED if not (messages.REPO / path).is_file()]
    assert not missing, missing


@pytest.mark.parametrize("path", EXPECTED)
def test_it_translates_every_string_the_sources_mark(path, regenerated):
    found = regenerated / path
    assert found.is_file(), f"makemessages wrote no {path}"
    wrong = problems(messages.REPO / path, found)
    assert not wrong, f"{path} (`make makemessages`, then translate):\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", EXPECTED)
def test_it_keeps_the_placeholders_of_each_message(path, tmp_path):
    need(shutil.which("msgfmt"), "GNU gettext's msgfmt (apt-get install gettext)")
    proc = subprocess.run(["msgfmt", "--check", "-o", str(tmp_path / "django.mo"),
                           str(messages.REPO / path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("path", EXPECTED)
def test_it_compiles_the_catalogue_as_gnu_msgfmt_does(path, tmp_path):
    """tools/messages.py (make messages, the wheel's build hook) writes what msgfmt writes."""
    need(shutil.which("msgfmt"), "GNU gettext's msgfmt (apt-get install gettext)")
    ours = messages.compile_catalogue(messages.REPO / path, tmp_path / "ours.mo")
    subprocess.run(["msgfmt", "-o", str(tmp_path / "gnu.mo"), str(messages.REPO / path)],
                   check=True)
    with open(ours, "rb") as a, open(tmp_path / "gnu.mo", "rb") as b:
        ours, gnu = gettext.GNUTranslations(a), gettext.GNUTranslations(b)
    assert ours._catalog == gnu._catalog
    for (context, msgid), entry in active(messages.REPO / path).items():  # every entry in it
        key = f"{context}\x04{msgid}" if context else msgid
        assert (key if entry.msgid_plural is None else (key, 0)) in ours._catalog, key


def test_it_catches_a_missing_an_empty_and_a_fuzzy_translation(tmp_path):
    header = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
              '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n')
    found = tmp_path / "found" / "de" / "LC_MESSAGES" / "django.po"
    committed = tmp_path / "committed" / "de" / "LC_MESSAGES" / "django.po"
    for path in (found, committed):
        path.parent.mkdir(parents=True)
    found.write_text(header + 'msgid "New"\nmsgstr ""\n\nmsgid "Empty"\nmsgstr ""\n\n'
                     'msgid "Fuzzy"\nmsgstr ""\n\nmsgid "Done"\nmsgstr ""\n', encoding="utf-8")
    committed.write_text(header + 'msgid "Empty"\nmsgstr ""\n\n#, fuzzy\nmsgid "Fuzzy"\n'
                         'msgstr "Unscharf"\n\nmsgid "Done"\nmsgstr "Fertig"\n\n'
                         '#~ msgid "Gone"\n#~ msgstr "Weg"\n', encoding="utf-8")
    assert problems(committed, found) == [
        "in the sources, not in the catalogue: 'New'",
        "fuzzy: 'Fuzzy'",
        "untranslated: 'Empty'",
    ]
