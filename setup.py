"""The build hook; everything else about the package is in pyproject.toml.

The apps' translation catalogues (`<app>/locale/<language>/LC_MESSAGES/django.po`) are compiled
into the `.mo` files Django reads as the package is built, so `.mo` files are never committed.
tools/messages.py compiles them, the same code `make messages` runs on the source tree; it needs
no GNU gettext.
"""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tools.messages import APPS, compile_catalogue  # noqa: E402


class build_py_with_messages(build_py):
    """build_py, then every app's django.po compiled to django.mo beside it in the build (in the
    source tree for an editable install, which imports the apps from there)."""

    def run(self):
        super().run()
        for po, relative in self._catalogues():
            target = HERE / relative if self.editable_mode else Path(self.build_lib) / relative
            compile_catalogue(po, target.with_suffix(".mo"))

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        mos = [str(Path(self.build_lib) / relative.with_suffix(".mo"))
               for _, relative in self._catalogues()]
        return outputs + [mo for mo in mos if mo not in outputs]

    @staticmethod
    def _catalogues():
        for app in APPS:
            for po in sorted((HERE / app / "locale").glob("*/LC_MESSAGES/*.po")):
                yield po, po.relative_to(HERE)


setup(cmdclass={"build_py": build_py_with_messages})
