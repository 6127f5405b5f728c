"""The wheel is the portal: built by `scripts/build` and installed into an empty virtual
environment, away from the checkout, it brings its database up to date and serves a Swedish
visitor a Swedish page, with its styles. (A wheel without the compiled catalogues would
serve English, one without templates a 500.)

The new environment gets the locked dependencies by pointing at the project environment's
site-packages (a plain path in a .pth file: the editable install of the checkout that lives
there is not activated by it), so the test proves what the wheel carries without
downloading the dependencies again.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx

from tests.faults import harness


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    return done


def test_the_installed_wheel_serves_a_swedish_page(tmp_path):
    run(["bash", str(harness.ROOT / "scripts" / "build")], cwd=harness.ROOT)
    (wheel,) = (harness.ROOT / "dist").glob("utvag-*.whl")

    # Nothing of the checkout may leak in: no PYTHONPATH (pip would take the checkout's
    # metadata for an installed copy and install nothing), and a directory of its own.
    env = harness.production_env(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    env.pop("PYTHONPATH", None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=elsewhere, env=env)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    run([*install, str(wheel)], cwd=elsewhere, env=env)
    site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=elsewhere, env=env,
    )  # fmt: skip
    Path(site.stdout.strip(), "locked-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )

    found = run([str(python), "-c", "import app; print(app.__file__)"], cwd=elsewhere, env=env)
    assert found.stdout.strip().startswith(str(venv)), found.stdout

    run([str(python), "-m", "flask", "--app", "app.wsgi", "db", "upgrade"], cwd=elsewhere, env=env)

    port = harness.free_port()
    env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    config = harness.ROOT / "deploy" / "gunicorn.conf.py"
    server = subprocess.Popen(
        [str(python), "-m", "gunicorn", "-c", str(config)],
        cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        page = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                page = httpx.get(base + "/", headers={"Accept-Language": "sv-SE"}, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None, "the installed portal never answered"
        assert page.status_code == 200
        assert 'lang="sv"' in page.text
        assert "Be om hjälp" in page.text and "Ask for help" not in page.text
        english = httpx.get(base + "/", headers={"Accept-Language": "en"}, timeout=5)
        assert "Ask for help" in english.text

        stylesheet = re.search(r'href="(/static/[^"]+\.css[^"]*)"', page.text)
        assert stylesheet, page.text[:2000]
        assert httpx.get(base + stylesheet[1], timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
