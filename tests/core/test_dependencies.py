"""Every runtime import is a declared dependency, pinned in constraints.txt (issue 16, item 12).

``pip install okpay`` used to fail at start-up: ``okpay.social.views`` imported ``defusedxml``, which
only the ``dev`` extra brought in. Every module under ``src/okpay`` is read here (not imported): each
``import`` and ``from … import``, and each dotted path in a string (``INSTALLED_APPS``,
``MIDDLEWARE``, backends: Django imports those for us) whose first part is an installed package.
Each must come from the standard library, from ``okpay``, or from a distribution that
``[project] dependencies`` names (directly or through an extra it asks for, like ``psycopg[pool]``).
``.ci/run`` proves the same from the other side: the wheel alone, in a clean venv, starts.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "okpay"
DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")


def runtime_requirements() -> list[Requirement]:
    """``[project] dependencies`` and the optional runtime extras (``okpay[s3]``), not ``dev``.

    An extra's import must be guarded where it is used: ``okpay.conf`` checks ``find_spec`` and says
    which extra to install when ``OKPAY_MEDIA_URL=s3://…`` asks for it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra, extra_lines in project.get("optional-dependencies", {}).items():
        if extra != "dev":
            lines += [line for line in extra_lines if not line.startswith("okpay")]
    return [Requirement(line) for line in lines]


def declared_distributions() -> set[str]:
    """The distributions ``pip install okpay`` installs because we named them: the dependencies and
    what the extras we ask for add (``uvicorn[standard]``, ``psycopg[binary,pool]``)."""
    names = set()
    for requirement in runtime_requirements():
        names.add(canonicalize_name(requirement.name))
        for line in distribution(requirement.name).requires or []:
            extra = Requirement(line)
            if extra.marker is not None and any(extra.marker.evaluate({"extra": name})
                                                for name in requirement.extras):
                names.add(canonicalize_name(extra.name))
    return names


def imported_modules() -> dict[str, set[str]]:
    """Top-level module → the files of ours that import it (or name it in a dotted-path string).

    Read in an interpreter of its own: CPython 3.11's ``ast.parse`` is not safe while another thread
    compiles (gh-106905, "AST constructor recursion depth mismatch"), and earlier tests' live servers
    may still be running threads in this one."""
    found = subprocess.run([sys.executable, "-c", "import json, tests.core.test_dependencies as t; "
                            "print(json.dumps({k: sorted(v) for k, v in t.read_imports().items()}))"],
                           cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    return {module: set(files) for module, files in json.loads(found.stdout).items()}


def read_imports() -> dict[str, set[str]]:
    installed = packages_distributions()
    found: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(), filename=where)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value)
                  and node.value.split(".")[0] in installed):
                names = [node.value]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(where)
    return found


def test_every_runtime_import_is_a_declared_dependency() -> None:
    installed = packages_distributions()
    declared = declared_distributions()
    undeclared = {}
    for module, files in sorted(imported_modules().items()):
        if module in sys.stdlib_module_names or module == "okpay":
            continue
        sources = {canonicalize_name(name) for name in installed.get(module, [])}
        if not sources & declared:
            undeclared[module] = sorted(files)
    assert undeclared == {}, f"imported by src/okpay but not in [project] dependencies: {undeclared}"


def test_the_walk_sees_what_django_imports_for_us() -> None:
    modules = imported_modules()
    assert {"whitenoise", "axes", "django_otp", "channels_redis", "defusedxml", "psycopg_pool"} <= set(modules)


def test_every_dependency_is_pinned_in_constraints_within_its_range() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name.split("[", 1)[0])] = version.strip()
    problems = []
    for name in sorted(declared_distributions()):
        requirement = next((r for r in runtime_requirements() if canonicalize_name(r.name) == name), None)
        if name not in pins:
            problems.append(f"{name}: not pinned in constraints.txt")
        elif requirement is not None and not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}: constraints.txt pins {pins[name]}, outside {requirement.specifier}")
    assert problems == []
