"""The documentation site: it builds with ``mkdocs build --strict`` (no broken
links or anchors, no missing pages, every docstring renders), and it works
without a network, opened from disk (``file://``) as well as over HTTP.

The offline rule: nothing a page *loads by itself* comes from another host.
That covers ``src``/``href`` of scripts, stylesheets, images, frames and
``<link>`` elements (preconnect included), ``url(...)`` and ``@import`` in
CSS, references inside the SVG pictures, and the URLs our own scripts hold.
Links a reader clicks (``<a href="https://numpy.org">``) are fine. The
third-party bundles (mkdocs-material's, MathJax) contain a few URLs they
load only in situations this site never creates; each is listed below with
the reason it stays unloaded, and the reason is checked where it can be.

Skipped when MkDocs is not installed (it comes with the docs dependency group); the
browser checks are skipped without Chromium."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
EXTERNAL = re.compile(r"^(https?:)?//", re.I)

# URLs inside third-party bundles that are fetched only in situations this
# site never creates (checked by the tests named in the comment).
DORMANT = {
    # Material: mermaid is fetched only for ```mermaid diagrams (none here:
    # test_no_page_needs_a_dormant_loader); the ResizeObserver polyfill only in
    # browsers older than 2020; the GitHub/GitLab APIs only with repo_url (unset).
    "https://unpkg.com/mermaid@11/dist/mermaid.min.js",
    "https://unpkg.com/resize-observer-polyfill",
    "https://api.github.com/repos/",
    "https://api.github.com/users/",
    "https://${e}/api/v4/projects/${encodeURIComponent",
    # MathJax: the speech engine's data, fetched only by the accessibility
    # explorer, a separate component that is not shipped.
    "https://cdn.jsdelivr.net/npm/speech-rule-engine@",
    "https://cdn.jsdelivr.net/npm/sre-mathmaps-ie@",
    "https://cdn.jsdelivr.net/npm/wicked-good-xpath@",
}
# Not fetched at all: XML namespaces, licence and home-page mentions in comments.
NOT_FETCHED = re.compile(
    r"^https?://(www\.w3\.org/|www\.mathjax\.org|mathjax\.org|github\.com/|clipboardjs\.com)"
)


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


pytestmark = pytest.mark.skipif(
    not all(_installed(m) for m in NEEDED),
    reason="mkdocs, mkdocs-material and mkdocstrings[python] are not installed "
    "(pip install -e . --group docs)",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_mkdocs_build_strict(site):
    # use_directory_urls: false -- pages are files, so file:// links resolve.
    for page in [
        "index.html",
        "api.html",
        "howto/graph.html",
        "sharp-bits.html",
        "cheatsheet.html",
    ]:
        assert (site / page).is_file(), page
    assert not (site / "api" / "index.html").exists()
    assert (site / "search" / "search_index.js").is_file()  # search without a server


class _Refs(HTMLParser):
    """Every URL an HTML page loads by itself, and every link it offers."""

    LOADED = {"src", "srcset", "data", "poster", "background"}

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.links: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.styles.append(value)
            if name == "href" or name == "xlink:href":
                (self.links if tag == "a" else self.loaded).append(value)
            elif name in self.LOADED:
                self.loaded += [part.split()[0] for part in value.split(",") if part.strip()]
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def _parse(page: Path) -> _Refs:
    refs = _Refs()
    refs.feed(page.read_text(encoding="utf-8"))
    return refs


def _css_urls(text: str) -> list[str]:
    found = re.findall(r"url\(\s*['\"]?([^'\")\s]+)", text)
    found += re.findall(r"@import\s+['\"]([^'\"]+)", text)
    return found


def test_no_page_loads_anything_from_another_host(site):
    bad = []
    for page in sorted(site.rglob("*.html")):
        refs = _parse(page)
        urls = refs.loaded + [u for s in refs.styles for u in _css_urls(s)]
        bad += [f"{page.relative_to(site)}: {u}" for u in urls if EXTERNAL.match(u)]
    for sheet in sorted(site.rglob("*.css")):
        urls = _css_urls(sheet.read_text(encoding="utf-8"))
        bad += [f"{sheet.relative_to(site)}: {u}" for u in urls if EXTERNAL.match(u)]
    for picture in sorted(site.rglob("*.svg")):
        text = picture.read_text(encoding="utf-8")
        urls = re.findall(r"(?:href|src)\s*=\s*['\"]([^'\"]+)", text) + _css_urls(text)
        bad += [f"{picture.relative_to(site)}: {u}" for u in urls if EXTERNAL.match(u)]
    assert bad == []


def test_scripts_hold_no_url_they_would_load(site):
    ours = site / "javascripts"
    assert (ours / "vendor" / "mathjax-3.2.2" / "tex-svg-full.js").is_file()
    bad = []
    for script in sorted(site.rglob("*.js")):
        if script.parent == site / "search":
            continue  # the search index: page text, links included
        text = script.read_text(encoding="utf-8", errors="replace")
        third_party = "vendor" in script.parts or "assets" in script.parts
        # In third-party code only string literals can be loaded (not licence comments).
        pattern = r"[\"'`](https?://[^\s\"'`)<>\\]+)" if third_party else r"https?://\S+"
        for url in re.findall(pattern, text):
            if NOT_FETCHED.match(url):
                continue
            if third_party and any(url.startswith(d) or d.startswith(url) for d in DORMANT):
                continue
            bad.append(f"{script.relative_to(site)}: {url}")
    assert bad == []


def test_no_page_needs_a_dormant_loader(site):
    # The conditions under which the DORMANT URLs would be fetched.
    config = re.sub(r"#.*", "", (ROOT / "mkdocs.yml").read_text())
    assert "repo_url" not in config
    assert "unpkg.com" not in config and "cdn." not in config
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert 'class="mermaid"' not in text, page
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page


def test_internal_links_point_at_files(site):
    # From file:// a link to a directory shows a listing, not the page. (404.html
    # is shown by a web server for a missing page, so its links are absolute.)
    bad = []
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":
            continue
        refs = _parse(page)
        for url in refs.links + refs.loaded:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.is_file():
                bad.append(f"{page.relative_to(site)}: {url}")
    assert bad == []


# -- in a browser ---------------------------------------------------------------
CHROMIUM = next(
    (c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None
)
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


def _open(url: str, tmp: Path) -> tuple[str, list[str], list[str]]:
    """Load ``url`` in headless Chromium; return the DOM after scripts ran,
    the console messages (uncaught errors, failed loads) and the URLs of the
    network requests the page made (Chromium's own background requests have
    no page as initiator and are left out)."""
    log = tmp / "net.json"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={log}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    events = json.loads(log.read_text())
    names = {v: k for k, v in events["constants"]["logEventTypes"].items()}
    requests = [
        e["params"]["url"]
        for e in events["events"]
        if names.get(e["type"]) == "URL_REQUEST_START_JOB"
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]
    return done.stdout, console, requests


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _check_page(url: str, tmp: Path, local: str) -> str:
    dom, console, requests = _open(url, tmp)
    assert console == [], url
    assert [r for r in requests if not r.startswith(local)] == [], url
    assert "</html>" in dom
    return dom


@needs_browser
@pytest.mark.parametrize("how", ["file", "http"])
def test_formulas_render_offline(site, server, tmp_path, how):
    base = site.as_uri() if how == "file" else server
    dom = _check_page(f"{base}/tutorial.html", tmp_path, base)
    # MathJax replaced the TeX by SVG pictures: one per formula on the page.
    formulas = (site / "tutorial.html").read_text().count('class="arithmatex"')
    assert formulas > 20
    assert dom.count('<mjx-container class="MathJax') == formulas
    assert 'jax="SVG"' in dom


@needs_browser
def test_search_works_from_disk(site, tmp_path):
    dom = _check_page(f"{site.as_uri()}/index.html?q=hessian", tmp_path, site.as_uri())
    assert re.search(r'md-search-result__meta">\d+ matching documents<', dom)
    assert "howto/hessian.html" in dom


@needs_browser
@pytest.mark.slow
@pytest.mark.parametrize("how", ["file", "http"])
def test_every_page_loads_without_errors(site, server, tmp_path, how):
    base = site.as_uri() if how == "file" else server
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":
            continue  # links there are absolute to the site root, by design
        rel = page.relative_to(site).as_posix()
        _check_page(f"{base}/{rel}", tmp_path, base)
