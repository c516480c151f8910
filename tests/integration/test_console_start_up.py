"""A server ready for its first visitor: the code the console's pages need is loaded as the app is made, not by
the first request after a restart (a fresh process shows it: the test process has imported everything)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_making_the_app_loads_the_job_catalogue(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys
        from orderhub.bootstrap import build
        from orderhub.config import Settings
        from orderhub.entrypoints.http.app import create_app
        from orderhub.services.jobs import registry

        modules = registry._package_modules()
        assert modules, "no job modules found"
        before = [m for m in modules if m in sys.modules]
        hub = build(Settings(database_url="sqlite:///{tmp_path / 'start.db'}"))
        try:
            create_app(hub)
        finally:
            hub.close()
        missing = [m for m in modules if m not in sys.modules]
        print(len(before), len(modules), missing)
        assert not missing, missing
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded_before, total, _ = done.stdout.split(" ", 2)
    assert int(loaded_before) < int(total)  # the check means something: not every module came with the imports


def test_making_the_app_compiles_every_console_template() -> None:
    script = textwrap.dedent("""
        from orderhub.bootstrap import build
        from orderhub.config import Settings
        from orderhub.entrypoints.http.app import create_app
        from orderhub.entrypoints.http.console import web

        env = web.templates.env
        names = env.list_templates()
        compiled = []
        original = env.compile
        env.compile = lambda *a, **k: compiled.append(a[1] if len(a) > 1 else k.get("name")) or original(*a, **k)
        hub = build(Settings(database_url="sqlite://"))
        try:
            create_app(hub)
        finally:
            hub.close()
        assert sorted(compiled) == sorted(names), (compiled, names)
        compiled.clear()
        for name in names:  # rendering a page now finds its template compiled
            env.get_template(name)
        assert compiled == [], compiled
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
