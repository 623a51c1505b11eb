"""The real client: JupyterLab on 127.0.0.1 driven by Playwright in headless Chromium (Debian's
``chromium``; Playwright's own browser download does not work here). It opens a copy of the
training notebook, runs all cells, moves a z slider and the region selector, and checks from
screenshots that the redrawn image changed and the rest of the output did not."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("course_data"),
    pytest.mark.skipif(
        CHROMIUM is None or sync_playwright is None,
        reason="browser test skipped: needs Debian's chromium (apt-get install chromium) and the "
        f"playwright package (pip install playwright); found chromium={CHROMIUM}, "
        f"playwright={sync_playwright is not None}",
    ),
]


# Bounds on waits for conditions (an element, an attribute, an answer), not sleeps: generous, so
# that the test passes on a machine loaded by other jobs; each ends as soon as its condition holds.
START = 600  # s: JupyterLab answers
PAGE = 600_000  # ms: the page, the notebook, the kernel
RUN_ALL = 3_600_000  # ms: "Run all" reaches the widget (minutes on a busy 2-core machine)
REDRAW = 600_000  # ms: the kernel redraws after a slider or selector change
QUEUE = 120_000  # ms: a cell's prompt shows [*] once "Run all" is clicked (the page alone)
QUEUED = (
    "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
    ".some(p => /[*\\d]/.test(p.textContent))"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    with jupyter_lab(tmp_path) as server:
        yield server


@contextlib.contextmanager
def jupyter_lab(tmp_path):
    """JupyterLab on loopback serving a copy of solutions/08_training.ipynb; stopped by PID."""
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(ROOT / "solutions" / "08_training.ipynb", work / "08_training.ipynb")
    home = tmp_path / "home"
    # every cell stays in the page: JupyterLab otherwise leaves cells scrolled out of view out of
    # the DOM ("windowing"), and the widget's cell is out of view once "Run all" reaches the end
    tracker = home / "config/lab/user-settings/@jupyterlab/notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port, token = free_port(), "redo-test-token"
    env = {
        **os.environ,
        "REDO_ROOT": str(ROOT),
        "REDO_FAST": "1",
        "REDO_USE_SHIPPED": "1",
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "MPLCONFIGDIR": str(home / "mpl"),
        "OMP_NUM_THREADS": "1",
    }
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={work}",
            "--LabApp.news_url=",
            "--ContentsManager.allow_hidden=False",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START  # the server answers: a condition, polled
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=10)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(
                        "jupyter lab exited: " + (tmp_path / "lab.log").read_text()[-2000:]
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer within {START} s") from None
                time.sleep(0.5)
        yield url, token, tmp_path
    finally:
        proc.terminate()  # stop the server we started, by its PID
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_sliders_redraw_the_image_in_jupyterlab(lab):
    url, token, tmp = lab
    shots = tmp / "shots"
    shots.mkdir()
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        page.goto(
            f"{url}/lab/tree/08_training.ipynb?token={token}",
            wait_until="domcontentloaded",
            timeout=PAGE,
        )
        page.locator(".jp-Notebook").first.wait_for(timeout=PAGE)
        page.wait_for_function(
            "() => { const el = document.querySelector('.jp-Notebook-ExecutionIndicator');"
            " return el && /Idle/i.test(el.getAttribute('title') || el.textContent || ''); }",
            timeout=PAGE,
        )
        try:  # the "news" toast, if it shows
            toast = page.locator(".Toastify__toast").first
            toast.wait_for(state="visible", timeout=3000)
            toast.get_by_role("button", name="No", exact=True).click()
        except Exception:
            pass
        try:  # a "Select Kernel" dialog, if it shows: accept the default
            page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=5000)
        except Exception:
            pass
        # "Run all" from the menu; a cell's prompt turns to [*] as soon as it is queued, in the
        # page, whatever the kernel's speed: if none has, the click was lost (a menu still
        # opening on a busy machine), and the menu is used again
        for _attempt in range(3):
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
            try:
                page.wait_for_function(QUEUED, timeout=QUEUE)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")  # close the menu if it is still open
        else:
            page.screenshot(path=str(shots / "not-run.png"), full_page=True)
            raise AssertionError(f"Run all queued no cell, 3 times; see {shots / 'not-run.png'}")
        # wait until the widget is there, or until the last cell has run without it (an error):
        # whichever comes first, however long "Run all" takes on a busy machine
        page.wait_for_function(
            "() => { if (document.querySelector('.widget-dropdown')) return true;"
            " const code = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
            " const last = code.length ? code[code.length - 1].textContent : '';"
            " const busy = code.some(p => p.textContent.includes('*'));"
            " return /\\d/.test(last) && !busy; }",
            timeout=RUN_ALL,
        )
        if page.locator(".widget-dropdown").count() == 0:
            page.screenshot(path=str(shots / "no-widget.png"), full_page=True)
            raise AssertionError(
                f"every cell ran and the z explorer did not appear; see {shots / 'no-widget.png'}"
            )
        widget = page.locator(".widget-dropdown").first.locator(
            "xpath=ancestor::div[contains(@class,'widget-hbox')][1]"
        )
        widget.scroll_into_view_if_needed()
        img = widget.locator("img").first
        img.wait_for(state="visible", timeout=REDRAW)
        loaded = "(el) => el.complete && el.naturalWidth > 0"
        page.wait_for_function(loaded, arg=img.element_handle(), timeout=REDRAW)
        # "Run all" goes on past the widget's cell: wait until every cell has run, so that no
        # output appears after the "before" screenshots are taken
        page.wait_for_function(
            "() => { const el = document.querySelector('.jp-Notebook-ExecutionIndicator');"
            " const idle = el && /Idle/i.test(el.getAttribute('title') || el.textContent || '');"
            " const busy = [...document.querySelectorAll('.jp-InputPrompt')]"
            ".some(p => p.textContent.includes('*'));"
            " return idle && !busy; }",
            timeout=RUN_ALL,
        )
        # the z sweep: the output image of the code cell just above the widget's cell
        sweep = (
            widget.locator("xpath=ancestor::div[contains(@class,'jp-CodeCell')][1]")
            .locator("xpath=preceding-sibling::div[contains(@class,'jp-CodeCell')][1]")
            .locator(".jp-OutputArea-output img")
            .first
        )
        sweep.wait_for(state="visible", timeout=REDRAW)
        before_img, before_sweep = img.screenshot(), sweep.screenshot()
        src0 = img.get_attribute("src")

        handle = widget.locator(".noUi-handle").first
        track = widget.locator(".noUi-target").first
        hb, tb = handle.bounding_box(), track.bounding_box()
        page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
        page.mouse.down()
        page.mouse.move(tb["x"] + tb["width"] * 0.95, hb["y"] + hb["height"] / 2, steps=12)
        page.mouse.up()
        page.wait_for_function(
            "([el, s]) => el.getAttribute('src') !== s",
            arg=[img.element_handle(), src0],
            timeout=REDRAW,
        )
        page.wait_for_function(loaded, arg=img.element_handle(), timeout=REDRAW)  # decoded
        after_slider = img.screenshot()
        src1 = img.get_attribute("src")

        widget.locator(".widget-dropdown select").select_option(label="region 1")
        page.wait_for_function(
            "([el, s]) => el.getAttribute('src') !== s",
            arg=[img.element_handle(), src1],
            timeout=REDRAW,
        )
        page.wait_for_function(loaded, arg=img.element_handle(), timeout=REDRAW)  # decoded
        after_region = img.screenshot()
        after_sweep = sweep.screenshot()
        page.screenshot(path=str(shots / "page.png"), full_page=False)
        browser.close()
    (shots / "before.png").write_bytes(before_img)
    (shots / "after_slider.png").write_bytes(after_slider)
    (shots / "after_region.png").write_bytes(after_region)
    assert after_slider != before_img  # the slider redrew the image
    assert after_region != after_slider  # so did the region selector
    assert after_sweep == before_sweep  # the rest of the output did not change
