"""The playground page of the course site (docs/playground.md) in headless Chromium (Debian's
``chromium``), built here from the sources: the page alone (no notebook), onnxruntime-web from
npm, the shipped models exported to ONNX. A slider moved by keyboard redraws the chosen region
and, by Eq. 5, nothing beyond its soft mask; the page's pixels are PyTorch's; a slider move
redraws in under 50 ms; no console error, no request to another host."""

import shutil
import statistics
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import torch
from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or sync_playwright is None,
        reason="browser test skipped: needs Debian's chromium (apt-get install chromium) and the "
        f"playwright package; found chromium={CHROMIUM}, playwright={sync_playwright is not None}",
    ),
    pytest.mark.skipif(
        shutil.which("npm") is None
        and not (ROOT / "site/playground/node_modules/onnxruntime-web").is_dir(),
        reason="the playground needs onnxruntime-web from the npm registry: npm not found",
    ),
]
SIZE = 32


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The site with the playground page alone (no notebook, no API page), built afresh."""
    for module in ("sphinx", "myst_nb", "onnxruntime"):
        pytest.importorskip(module)
    site = load_script("tools/build_site.py")
    tmp = tmp_path_factory.mktemp("playground-site")
    args = ["--only", "--docs", "playground", "--api", "--out", str(tmp / "site")]
    assert site.main([*args, "--work", str(tmp / "work")]) == 0
    return tmp / "site"


@pytest.fixture(scope="module")
def page(built):
    """The playground page served on 127.0.0.1 and open in Chromium once its first redraw is on
    screen: (page, problems seen so far: console errors, page errors, requests to another
    host)."""
    server = load_script("tools/check_site.py").serve(built)
    problems = []

    def local_only(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            return route.continue_()
        problems.append(f"request to another host: {route.request.url}")
        return route.abort()

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            tab = browser.new_page(viewport={"width": 1280, "height": 1600})
            tab.route("**/*", local_only)
            tab.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
            tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            tab.goto(f"http://127.0.0.1:{server.server_address[1]}/docs/playground.html")
            tab.wait_for_function(
                "() => window.playground && (window.playground.ready || window.playground.error)",
                timeout=180_000,
            )
            assert tab.evaluate("() => window.playground.error") is None
            yield tab, problems
            browser.close()
    finally:
        server.shutdown()


def redraws(tab) -> int:
    return tab.evaluate("() => window.playground.redraws")


def wait_redrawn(tab, before: int):
    """Until the page has redrawn since ``before`` redraws and nothing is left to draw."""
    tab.wait_for_function(
        "n => window.playground.redraws > n && !window.playground.busy", arg=before, timeout=60_000
    )


def canvas(tab, name: str) -> np.ndarray:
    """A canvas's pixels as S,S,3 levels 0..255 (one canvas pixel per image pixel)."""
    rgba = tab.evaluate(
        "id => Array.from(document.getElementById(id).getContext('2d')"
        f".getImageData(0, 0, {SIZE}, {SIZE}).data)",
        name,
    )
    return np.array(rgba, dtype=np.int64).reshape(SIZE, SIZE, 4)[..., :3]


def test_a_slider_moved_by_keyboard_redraws_its_region_and_nothing_beyond_its_mask(page):
    tab, problems = page
    n = 3  # colored-2-MNIST: background and two digits
    masks = np.array(tab.evaluate("() => Array.from(window.playground.masks)"))
    masks = masks.reshape(n, SIZE, SIZE)
    hard = masks.argmax(0)
    # a digit's region: the smallest region F draws on this image
    k = min((int((hard == r).sum()), r) for r in range(n) if (hard == r).any())[1]
    before = redraws(tab)
    tab.locator(f"input[name=pg-region][value='{k}']").check()
    wait_redrawn(tab, before)
    shown = {name: canvas(tab, name) for name in ("pg-input", "pg-regions", "pg-composite")}

    slider = tab.locator("#pg-z0")
    start_value = float(slider.input_value())
    key, sign = ("ArrowRight", 1) if start_value <= 0 else ("ArrowLeft", -1)
    first = len(tab.evaluate("() => window.playground.timings"))
    slider.focus()
    for _ in range(10):
        before = redraws(tab)
        tab.keyboard.press(key)
        wait_redrawn(tab, before)
    assert float(slider.input_value()) == pytest.approx(start_value + sign * 1.0)
    z = tab.evaluate("() => Array.from(window.playground.z)")
    assert z[k * 16] == pytest.approx(start_value + sign * 1.0, abs=1e-6)

    diff = np.abs(canvas(tab, "pg-composite") - shown["pg-composite"]).max(-1)
    inside = hard == k
    assert diff[inside].max() > 10, "the chosen region did not change"
    # Eq. 5: Î_k = G_k(M^k, z_k) + (1 - M^k) ⊙ I with |G_k| ≤ M^k: a pixel can change by at most
    # 255·M^k levels (one more for rounding), so where M^k is 0 nothing changes
    assert (diff <= 255 * masks[k] + 1).all(), "a pixel changed beyond its soft mask's share"
    assert diff[masks[k] < 1 / 255].max() <= 1
    outside = ~inside
    print(
        f"region {k}: {inside.sum()} pixels in its hard mask, largest change {diff[inside].max()} "
        f"levels; outside: {(diff[outside] > 2).sum()} of {outside.sum()} pixels changed by more "
        f"than 2 levels (soft mask), largest {diff[outside].max()}"
    )
    assert (canvas(tab, "pg-input") == shown["pg-input"]).all()
    assert (canvas(tab, "pg-regions") == shown["pg-regions"]).all()

    timings = tab.evaluate("() => window.playground.timings")[first:]
    ms = [t["ms"] for t in timings if t["what"] == "slider"]
    assert len(ms) >= 10
    print(
        f"slider move to redrawn canvas in Chromium: median {statistics.median(ms):.1f} ms, "
        f"max {max(ms):.1f} ms over {len(ms)} moves"
    )
    assert statistics.median(ms) < 50
    assert problems == []


@torch.no_grad()
def test_the_page_draws_what_pytorch_draws_for_both_models(page):
    from course.notebook import redraw_with
    from redo_lite.data import to_unit
    from redo_lite.run import load_run

    tab, problems = page
    export = load_script("tools/export_onnx.py")
    image = 5
    x = export.test_images(image + 1)[image].float() / 127.5 - 1
    before = redraws(tab)
    tab.locator(".pg-thumb").nth(image).click()
    wait_redrawn(tab, before)
    for index, run in enumerate(run for run, _ in export.MODELS.values()):
        before = redraws(tab)
        tab.locator(f"input[name=pg-model][value='{index}']").check()
        if index:  # the first is already shown
            wait_redrawn(tab, before)
        state = tab.evaluate(
            "() => ({image: playground.image, region: playground.region, run: playground.model.run,"
            " z: Array.from(playground.z)})"
        )
        assert (state["image"], state["run"]) == (image, run)
        _, nets = load_run(ROOT / run)
        k, z = state["region"], torch.tensor(state["z"]).view(3, 16)
        want = (redraw_with(nets, x, k, z) * 255).round().permute(1, 2, 0).numpy()
        drawn = nets["G"](nets["F"](x[None]), z[None])[0, k]
        want_drawn = (to_unit(drawn) * 255).round().permute(1, 2, 0).numpy()
        got, got_drawn = canvas(tab, "pg-composite"), canvas(tab, "pg-drawn")
        worst = max(np.abs(got - want).max(), np.abs(got_drawn - want_drawn).max())
        print(f"{run}: image {image}, region {k}: largest |page - PyTorch| {worst:.0f} levels")
        assert worst <= 2
    assert problems == []


def test_opened_as_a_file_the_page_says_it_must_be_served(page, built):
    tab, _ = page
    local = tab.context.browser.new_page()
    errors = []
    local.on("pageerror", lambda e: errors.append(str(e)))
    local.goto((built / "docs" / "playground.html").as_uri())
    local.wait_for_function(
        "() => /http.server/.test(document.getElementById('pg-status').textContent)",
        timeout=60_000,
    )
    assert local.evaluate("() => window.playground.ready") is False
    assert errors == []
    local.close()
