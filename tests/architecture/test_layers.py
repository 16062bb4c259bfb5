"""The apps and their layers (shared design, 'Apps and layers'), checked rather than described.

import-linter (run by `make test`) keeps the layer order. This test keeps the narrower rule: another
app may import only ``services``, ``selectors``, ``policies`` and ``models`` of an app, never its views,
APIs, consumers, admin or tasks.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = [
    "common",
    "audit",
    "notifications",
    "screening",
    "identity",
    "credit",
    "groups",
    "moderation",
    "reports",
]
PUBLIC = {"services", "selectors", "policies", "models", "actors", "realtime", "api", "middleware"}
# common is the shared base: its helpers (actors, policies, realtime, api glue) are its public surface.
PUBLIC_OF = {app: {"services", "selectors", "policies", "models"} for app in APPS}
PUBLIC_OF["common"] = {
    "actors",
    "policies",
    "realtime",
    "fanout",  # the chat groups' fan-out, which the chat socket subscribes to
    "api",
    "middleware",
    "views",
    "admin",
    "sms",
    "crypto",
    "reasons",
    "ratelimit",
    "input_guard",  # refusing what cannot be text (the middleware) and the forms' direction-control rule
    "unavailable",  # a backing service out of reach: 503 (the network log's fallback asks it too)
}
# Pure domain rules with no state, which other apps need as they are (validation, masking, codes).
PUBLIC_OF["identity"] |= {"idnumber"}
PUBLIC_OF["groups"] |= {"codes"}
PUBLIC_OF["screening"] |= {"normalize"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_apps_import_only_public_modules_of_other_apps():
    offences = []
    for app in [*APPS, "demo"]:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for name in set(_imports(path)):
                parts = name.split(".")
                if (
                    parts[0] in APPS
                    and parts[0] != app
                    and len(parts) > 1
                    and parts[1] not in PUBLIC_OF[parts[0]]
                ):
                    # `from groups import services` yields "groups.services": the second part is what counts
                    offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert sorted(offences) == []


def test_layer_contract_is_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
