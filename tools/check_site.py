"""Open every page of the built course site in headless Chromium and check what a reader sees.

    python3 tools/check_site.py [_site]        # (or: bash tools/build_site.sh --check)

The site is served on 127.0.0.1; any request to another host is blocked and reported (the site
must work offline: MathJax and the theme come from the site itself). On every page: every image
loads (naturalWidth > 0), every equation is typeset by MathJax (an ``mjx-container`` in each math
element, no MathJax error, no ``$$`` left in the text), no Python traceback shows, the browser's
console logs no error, no script fails and no request of the site's own files fails (a missing
favicon included). A notebook page must show at least as many figures as its executed notebook
holds, and each of its exercises as the learner's scaffold with the solution folded (a closed
``details.solution`` whose code is not visible); an API page must list the module's members.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

PAGE_JS = """() => {
  const main = document.querySelector('article') || document.body;
  const text = (el) => {
    const c = el.cloneNode(true);
    c.querySelectorAll('pre, code, .highlight, script, style').forEach(e => e.remove());
    return c.innerText || c.textContent;
  };
  const imgs = [...main.querySelectorAll('img')];
  const maths = [...main.querySelectorAll('.math')];
  return {
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    output_images: main.querySelectorAll('.cell_output img').length,
    maths: maths.length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container')).length,
    math_errors: main.querySelectorAll('mjx-merror').length,
    raw_dollars: (text(main).match(/\\$\\$/g) || []).length,
    traceback: /Traceback \\(most recent call last\\)/.test(document.body.innerText)
      || main.querySelectorAll('.output.traceback, .output.error').length > 0,
    api_members: main.querySelectorAll('dl.py').length,
    solutions: main.querySelectorAll('details.solution').length,
    solutions_open: [...main.querySelectorAll('details.solution')].filter(
      d => d.open || [...d.querySelectorAll('pre')].some(e => e.checkVisibility())).length,
    scaffolds: [...main.querySelectorAll('.cell_input')].filter(
      c => c.innerText.includes('raise NotImplementedError("exercise')).length,
  };
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def pages_of(site: Path) -> list[Path]:
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    return [
        p
        for p in sorted(site.rglob("*.html"))
        if p.name not in skip and not {"_static", "_modules", "_sources"} & set(p.parts)
    ]


def check_site(site: Path, verbose: bool = True) -> dict:
    """Check every page; returns {"problems": [...], "pages": {relpath: facts}}."""
    from playwright.sync_api import sync_playwright

    site = Path(site).resolve()
    manifest = json.loads((site / "site-manifest.json").read_text())
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("error: chromium not found (apt-get install chromium)")
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    problems, facts, outside = [], {}, []
    logged = []  # console errors, failing scripts and failed requests of the page being checked

    def route(r):
        host = urlparse(r.request.url).hostname
        if urlparse(r.request.url).scheme in ("http", "https") and host != "127.0.0.1":
            outside.append(r.request.url)
            return r.abort()
        return r.continue_()

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=args)
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.route("**/*", route)
            page.on(
                "console",
                lambda m: logged.append(f"console error: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: logged.append(f"script error: {e}"))
            page.on(
                "response",
                lambda r: (
                    logged.append(f"{r.status} for {r.url}")
                    if r.status >= 400 and urlparse(r.url).hostname == "127.0.0.1"
                    else None
                ),
            )
            for path in pages_of(site):
                rel = path.relative_to(site).as_posix()
                logged.clear()
                page.goto(f"{base}/{rel}", wait_until="load", timeout=60_000)
                page.evaluate(
                    "() => document.querySelectorAll('img').forEach(i => i.loading = 'eager')"
                )
                page.wait_for_function(
                    "() => [...document.images].every(i => i.complete)", timeout=30_000
                )
                if page.evaluate("() => document.querySelector('article .math') !== null"):
                    page.wait_for_function(
                        "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                        timeout=30_000,
                    )
                    page.evaluate("() => MathJax.startup.promise")
                f = page.evaluate(PAGE_JS)
                f["console"] = list(logged)
                facts[rel] = f
                bad = list(dict.fromkeys(logged))
                if f["broken"]:
                    bad.append(f"images not loaded: {f['broken']}")
                if f["untypeset"] or f["math_errors"]:
                    bad.append(f"{f['untypeset']} equations not typeset, {f['math_errors']} errors")
                if f["raw_dollars"]:
                    bad.append(f"{f['raw_dollars']} raw $$ in the text")
                if f["traceback"]:
                    bad.append("shows a traceback")
                stem = Path(rel).stem
                if rel.startswith("notebooks/") and stem in manifest["notebooks"]:
                    want = manifest["notebooks"][stem]
                    if f["output_images"] < want["images"]:
                        bad.append(f"{f['output_images']} figures shown, {want['images']} made")
                    if want["math"] and not f["maths"]:
                        bad.append("its equations are missing")
                    exercises = want.get("exercises", 0)
                    if f["solutions"] < exercises or f["scaffolds"] < exercises:
                        bad.append(
                            f"{exercises} exercises, {f['scaffolds']} scaffolds shown, "
                            f"{f['solutions']} solutions folded"
                        )
                    if f["solutions_open"]:
                        bad.append(f"{f['solutions_open']} solutions shown unfolded")
                if rel.startswith("api/") and not f["api_members"]:
                    bad.append("no documented members")
                problems += [f"{rel}: {b}" for b in bad]
                if verbose:
                    print(
                        f"{'ok  ' if not bad else 'FAIL'} {rel}: {f['images']} images, "
                        f"{f['maths']} equations" + (f" ({'; '.join(bad)})" if bad else ""),
                        flush=True,
                    )
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    problems += [f"request to another host blocked: {u}" for u in sorted(set(outside))]
    missing = [s for s in manifest["notebooks"] if f"notebooks/{s}.html" not in facts]
    problems += [f"notebooks/{s}.html: page missing" for s in missing]
    return {"problems": problems, "pages": facts}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    site = Path(argv[0] if argv else Path(__file__).resolve().parents[1] / "_site")
    result = check_site(site)
    pages = result["pages"]
    nb = [k for k in pages if k.startswith("notebooks/")]
    print(
        f"site check: {len(pages)} pages ({len(nb)} notebooks), "
        f"{sum(pages[k]['output_images'] for k in nb)} notebook figures, "
        f"{sum(v['maths'] for v in pages.values())} equations typeset, "
        f"{len(result['problems'])} problems"
    )
    for p in result["problems"]:
        print(f"error: {p}")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
