"""The dashboard's pages as dashboard/app.py declares them (read from its source, not a copy)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from pipelines.paths import REPO_ROOT

APP = REPO_ROOT / "dashboard" / "app.py"


@dataclass(frozen=True)
class AppPage:
    """One `st.Page` of the menu: its script's name, its URL path, whether it is the default."""

    name: str  # views/<name>.py
    url_path: str
    default: bool


def app_pages() -> list[AppPage]:
    """Every page script app.py puts in the navigation, in source order (hidden aliases left out)."""
    calls = [
        node
        for node in ast.walk(ast.parse(APP.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page"
    ]
    pages = []
    for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
        script = node.args[0] if node.args else None
        if not (isinstance(script, ast.Constant) and str(script.value).startswith("views/")):
            continue
        options = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        if options.get("visibility") == "hidden":
            continue
        name = str(script.value).removeprefix("views/").removesuffix(".py")
        pages.append(AppPage(name, options.get("url_path", name), bool(options.get("default"))))
    return pages
