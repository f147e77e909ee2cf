"""The translation catalogues: regenerate them from the sources, and compile them.

    python tools/messages.py make [--locale de]   # makemessages for every catalogue (GNU gettext)
    python tools/messages.py compile [PATH...]    # django.po -> django.mo (a file, or every
                                                  # catalogue under a directory; default: all)

A catalogue is a `locale/<language>/LC_MESSAGES/django.po`: one per app (`integrations`, `gbp`,
`sandbox`, shipped in the wheel) and the demo host's at the repository root (its LOCALE_PATHS).
The `.mo` files are not committed: `make messages` compiles them in the source tree and setup.py's
build hook into the wheel, both with `compile_catalogue` below, which needs no GNU gettext (Python's
`gettext` module and Django read what it writes). Regenerating the `.po` files (`make`) needs
GNU gettext's xgettext and msgmerge, as Django's makemessages always does.
"""

import ast
import os
import struct
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APPS = ["integrations", "gbp", "sandbox"]
LANGUAGES = ["de"]
# One makemessages run from the repository root writes every catalogue: a file's strings go to
# the nearest `locale` directory above it (an app's own, else the root's, the demo host's).
# Never scanned: what is not the product or the demo host.
IGNORE = ["tests", "bench", "tools", "build", "dist", "staticfiles", "test-artifacts",
          "node_modules", "venv", "*.egg-info"]


def catalogues(root: Path = REPO) -> list[Path]:
    """Every committed catalogue under `root` (the apps' and the demo host's)."""
    found = []
    for base in [root / app for app in APPS] + [root]:
        found += sorted((base / "locale").glob("*/LC_MESSAGES/django.po"))
    return found


def makemessages(root: Path = REPO, locales=LANGUAGES) -> None:
    """Regenerate every catalogue under `root` from the sources found there: new msgids added,
    translations kept, strings no longer in the sources kept as obsolete (`#~`) entries. Needs
    no settings (DJANGO_SETTINGS_MODULE is left out)."""
    django_admin = Path(sys.executable).parent / "django-admin"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    cmd = [str(django_admin) if django_admin.exists() else "django-admin", "makemessages"]
    cmd += [f"--locale={code}" for code in locales]
    cmd += [f"--ignore={pattern}" for pattern in IGNORE]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"makemessages failed (exit {proc.returncode}):\n{proc.stderr}")


# --- Reading a .po file -------------------------------------------------------------------------

KEYWORDS = ("msgctxt", "msgid", "msgid_plural", "msgstr")


class Entry:
    """One message of a catalogue, as written: its keywords' texts, flags and where it starts."""

    def __init__(self, line: int):
        self.line = line
        self.fields = {}  # "msgctxt", "msgid", "msgid_plural", "msgstr" or "msgstr[N]" -> text
        self.flags = set()
        self.obsolete = False

    @property
    def msgctxt(self):
        return self.fields.get("msgctxt")

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def msgid_plural(self):
        return self.fields.get("msgid_plural")

    @property
    def msgstrs(self) -> list[str]:
        """The translation, or one per plural form."""
        if self.msgid_plural is None:
            return [self.fields.get("msgstr", "")]
        forms = sorted(int(k[7:-1]) for k in self.fields if k.startswith("msgstr["))
        return [self.fields.get(f"msgstr[{n}]", "") for n in range(max(forms, default=0) + 1)]

    @property
    def key(self):
        return (self.msgctxt, self.msgid)

    @property
    def translated(self) -> bool:
        return all(self.msgstrs)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


def read_po(path) -> list[Entry]:
    """The entries of a .po file in order: the header (msgid "") first, obsolete ones (`#~`)
    included and marked."""
    entries, entry, field = [], None, None
    for lineno, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):  # an obsolete entry's previous msgid
                continue
        if not line:
            continue
        if line.startswith("#"):  # comments open an entry (after the previous one's strings)
            if entry is None or field is not None:
                entry, field = Entry(lineno), None
                entries.append(entry)
            if line.startswith("#,"):
                entry.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith('"'):  # the continuation of the keyword above
            if field is None:
                raise ValueError(f"{path}:{lineno}: a string outside an entry")
            entry.fields[field] += _unquote(line, path, lineno)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword not in KEYWORDS and not (keyword.startswith("msgstr[") and keyword[-1] == "]"):
            raise ValueError(f"{path}:{lineno}: unknown keyword {keyword!r}")
        opens = keyword in ("msgctxt", "msgid") and field not in (None, "msgctxt")
        if entry is None or opens:
            entry = Entry(lineno)
            entries.append(entry)
        entry.obsolete = entry.obsolete or obsolete
        field = keyword
        entry.fields[field] = _unquote(rest.strip(), path, lineno)
    return entries


def _unquote(text, path, lineno) -> str:
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise ValueError(f"{path}:{lineno}: expected a quoted string, got {text!r}")
    # A .po string is a C string literal; Python's escapes are a superset of the ones it uses.
    return ast.literal_eval(text)


# --- Writing a .mo file -------------------------------------------------------------------------

def compile_catalogue(po_path, mo_path=None) -> Path:
    """Write the .mo file of a .po file (beside it unless `mo_path` says where), as GNU msgfmt
    does: translated, non-fuzzy entries only (the header always), obsolete ones left out."""
    po_path = Path(po_path)
    mo_path = Path(mo_path) if mo_path else po_path.with_suffix(".mo")
    messages = {}
    for entry in read_po(po_path):
        if entry.obsolete or (entry.msgid and (entry.fuzzy or not entry.translated)):
            continue
        key = entry.msgid if entry.msgid_plural is None else f"{entry.msgid}\0{entry.msgid_plural}"
        if entry.msgctxt is not None:
            key = f"{entry.msgctxt}\x04{key}"
        messages[key] = "\0".join(entry.msgstrs)
    if "" in messages:  # like msgfmt: the header without the date the sources were last scanned
        messages[""] = "".join(line for line in messages[""].splitlines(keepends=True)
                               if not line.startswith("POT-Creation-Date:"))
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    mo_path.write_bytes(_mo_bytes(messages))
    return mo_path


def _mo_bytes(messages: dict[str, str]) -> bytes:
    """The GNU .mo format (no hash table: readers fall back to the sorted tables)."""
    keys = sorted(messages, key=lambda k: k.encode("utf-8"))
    ids = [k.encode("utf-8") for k in keys]
    strs = [messages[k].encode("utf-8") for k in keys]
    header_size = 7 * 4
    ids_start = header_size + 16 * len(keys)
    id_table, offset = [], ids_start
    for data in ids:
        id_table += [len(data), offset]
        offset += len(data) + 1
    str_table = []
    for data in strs:
        str_table += [len(data), offset]
        offset += len(data) + 1
    out = struct.pack("<7I", 0x950412DE, 0, len(keys), header_size,
                      header_size + 8 * len(keys), 0, 0)
    out += struct.pack(f"<{len(id_table)}I", *id_table)
    out += struct.pack(f"<{len(str_table)}I", *str_table)
    return out + b"".join(d + b"\0" for d in ids) + b"".join(d + b"\0" for d in strs)


def compile_all(root: Path = REPO) -> list[Path]:
    """Compile every catalogue under `root` in place (django.mo beside django.po)."""
    return [compile_catalogue(po) for po in catalogues(root)]


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else ""
    if command == "compile":  # PATH...: .po files, or directories to compile every catalogue of
        for path in [Path(a).resolve() for a in args] or [REPO]:
            for mo in [compile_catalogue(path)] if path.suffix == ".po" else compile_all(path):
                print(f"compiled {mo}")
        return 0
    if command == "make":
        locales = args[args.index("--locale") + 1:][:1] if "--locale" in args else LANGUAGES
        makemessages(REPO, locales)
        for po in catalogues(REPO):
            print(f"updated {po.relative_to(REPO)}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
