#!/usr/bin/env python3
"""Check that the published asv dashboard renders its graphs in a real browser.

Serves the site that ``asv publish`` wrote (``.asv/html``) on localhost, opens
the index page and one benchmark's graph page in headless Chromium, and fails
(exit status 1) unless

- the DOM of the index has a summary plot (a flot ``canvas``) for every
  benchmark that has results, and
- the graph page has the main plot's canvas, and
- both screenshots are neither blank nor one flat colour.

The screenshots are kept (``docs/dashboard.png``, ``docs/dashboard_graph.png``).
Needs Chromium (Debian: ``apt-get install chromium``) and Pillow.

The published pages load jQuery, flot, bootstrap and three small plugins from
CDNs. Where those cannot be reached (``--assets auto`` finds out; ``local``
forces it) the site is served from a temporary copy whose CDN tags point at
local copies of the same libraries: the ``asv/www/vendor`` folder of asv's
0.5.1 source release (the last one that shipped them), fetched once with
``pip download`` into ``.asv/vendor``.

Example::

    python docs/screenshot_dashboard.py --graph bench_softmax.Grid.time_call
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VENDOR_RELEASE = "asv==0.5.1"
#: The graph page's parameter selection: the cases the README's dashboard run times.
#: (asv caps an unselected parameter at 8 curves in all, so every one is named.)
DEFAULT_QUERY = (
    "p-dtype=%27float32%27&p-shape=%27medium%201024x1000%27&p-shape=%27vocab%20256x32000%27"
    "&p-axis=%27last%27&p-layout=%27C%27&p-threads=1"
)
#: CDN address (its tail) in the published pages -> file in asv 0.5.1's www/vendor.
CDN_TO_VENDOR = {
    "jquery-3.3.1.min.js": "jquery-3.3.1.min.js",
    "flot/0.8.3/jquery.flot.min.js": "jquery.flot-0.8.3.min.js",
    "flot/0.8.3/jquery.flot.time.min.js": "jquery.flot-0.8.3.time.min.js",
    "flot/0.8.3/jquery.flot.selection.min.js": "jquery.flot-0.8.3.selection.min.js",
    "flot/0.8.3/jquery.flot.categories.min.js": "jquery.flot-0.8.3.categories.min.js",
    "jquery.flot.orderBars.js": "jquery.flot.orderBars.js",
    "stupidtable.min.js": "stupidtable.js",
    "md5.min.js": "md5.js",
    "bootstrap.min.js": "bootstrap-3.1.0.min.js",
    "bootstrap.min.css": "bootstrap-3.1.0.min.css",
}


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    sys.exit(f"no Chromium found (tried {', '.join(BROWSERS)}); Debian: apt-get install chromium")


def _cdn_reachable(html: str) -> bool:
    urls = re.findall(r'(?:src|href)="(https://[^"]+\.js)"', html)
    try:
        with urllib.request.urlopen(urls[0], timeout=5) as r:  # noqa: S310 - fixed https URL
            return r.status == 200
    except (OSError, IndexError):
        return False


def _vendor_dir(vendor: Path) -> Path:
    """``vendor`` holding asv 0.5.1's www/vendor files, downloaded when absent."""
    if all((vendor / f).is_file() for f in CDN_TO_VENDOR.values()):
        return vendor
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "-d", tmp, "-q", VENDOR_RELEASE],
            check=True,
        )
        (sdist,) = Path(tmp).glob("asv-*.tar.gz")
        vendor.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if "/asv/www/vendor/" in member.name and member.isfile():
                    src = tar.extractfile(member)
                    assert src is not None
                    (vendor / Path(member.name).name).write_bytes(src.read())
    return vendor


def _local_copy(html_dir: Path, vendor: Path, dest: Path) -> None:
    """Copy the site to ``dest`` with its CDN tags pointing at ``vendor/`` files."""
    shutil.copytree(html_dir, dest)
    shutil.copytree(vendor, dest / "vendor")
    for page in dest.glob("*.html"):
        text = page.read_text()
        for tail, local in CDN_TO_VENDOR.items():
            # the whole attribute value, and the integrity hash that went with the CDN file
            text = re.sub(r'"https://[^"]*/' + re.escape(tail) + r'"', f'"vendor/{local}"', text)
        text = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", text)
        page.write_text(text)


def _serve(html_dir: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        pass


def _chromium(browser: str, url: str, *extra: str, size: str, wait_ms: int) -> str:
    """Run headless Chromium on ``url``; its stdout (the DOM with --dump-dom)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",  # CI containers run as root
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={size}",
            f"--virtual-time-budget={wait_ms}",  # let the page's scripts load and draw
            *extra,
            url,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        sys.exit(f"chromium failed ({done.returncode}) on {url}:\n{done.stderr[-2000:]}")
    return done.stdout


def _not_blank(png: Path) -> str | None:
    """None if the image has real content, else why not."""
    from PIL import Image, ImageStat

    if not png.is_file():
        return f"{png} was not written"
    img = Image.open(png).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 16)
    n_colours = len(colours) if colours is not None else 1 << 16
    spread = max(ImageStat.Stat(img.convert("L")).stddev[0], 0.0)
    if n_colours < 16 or spread < 5.0:
        return f"{png} looks blank ({n_colours} colours, grey-level stddev {spread:.1f})"
    return None


def _coloured_pixels(png: Path) -> int:
    """Pixels of strong colour: the plotted series (the page's chrome is grey and pale blue)."""
    import numpy as np
    from PIL import Image

    hsv = Image.open(png).convert("RGB").convert("HSV")
    sat, val = np.asarray(hsv)[..., 1], np.asarray(hsv)[..., 2]
    return int(np.count_nonzero((sat > 128) & (val > 80)))


def main(argv: list[str] | None = None) -> int:
    """Serve, open, check and screenshot the dashboard; 0 when the graphs render.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html-dir", type=Path, default=ROOT / ".asv" / "html")
    parser.add_argument("--graph", default="bench_softmax.Grid.time_call",
                        help="benchmark whose graph page is checked and captured")
    parser.add_argument("--graph-query", default=DEFAULT_QUERY,
                        help="asv URL query selecting the plotted parameter values (default: the "
                        "shapes and dtype of the README's dashboard run)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--graph-out", type=Path, default=ROOT / "docs" / "dashboard_graph.png")
    parser.add_argument("--wait-ms", type=int, default=20000)
    parser.add_argument("--assets", choices=["auto", "cdn", "local"], default="auto",
                        help="load the pages' libraries from their CDNs or from local copies")
    parser.add_argument("--vendor-dir", type=Path, default=ROOT / ".asv" / "vendor")
    args = parser.parse_args(argv)

    index = args.html_dir / "index.json"
    if not index.is_file():
        sys.exit(f"{index} missing: run `asv publish` first")
    benchmarks = sorted(json.loads(index.read_text())["benchmarks"])
    # asv writes a summary series for each benchmark that has results (a run of
    # a subset leaves the others without a tile plot).
    with_data = [b for b in benchmarks if (args.html_dir / "graphs" / "summary" / f"{b}.json")
                 .is_file()]
    if not with_data:
        sys.exit(f"{args.html_dir} has no results: run `asv run` before `asv publish`")
    if args.graph not in with_data:
        sys.exit(f"--graph {args.graph!r} has no results; these have: {', '.join(with_data)}")

    browser = _browser()
    site = args.html_dir
    tmp = tempfile.TemporaryDirectory()
    local = args.assets == "local" or (
        args.assets == "auto" and not _cdn_reachable((site / "index.html").read_text())
    )
    if local:
        site = Path(tmp.name) / "html"
        _local_copy(args.html_dir, _vendor_dir(args.vendor_dir), site)
    print(f"serving {args.html_dir} with the libraries from "
          f"{'local copies (' + VENDOR_RELEASE + ')' if local else 'their CDNs'}")
    server, base = _serve(site)
    problems: list[str] = []
    try:
        dom = _chromium(browser, base, "--dump-dom", size="1400,1000", wait_ms=args.wait_ms)
        # One summary tile per benchmark; its plot is a flot canvas inside the tile's div.
        tiles = re.findall(r'id="summarygrid-([^"]+)"[^>]*>(.*?)</div>', dom, flags=re.S)
        drawn = {name for name, body in tiles if "<canvas" in body}
        missing = [b for b in with_data if b not in drawn]
        print(f"index: {len(drawn)} summary plots drawn; {len(with_data)} of the site's "
              f"{len(benchmarks)} benchmarks have results")
        if missing:
            problems.append(f"index: no summary plot for {', '.join(missing)}")

        graph_url = f"{base}#{args.graph}" + (f"?{args.graph_query}" if args.graph_query else "")
        gdom = _chromium(browser, graph_url, "--dump-dom", size="1400,1000", wait_ms=args.wait_ms)
        main_graph = re.search(r'id="main-graph".*?</div>', gdom, flags=re.S)
        n_canvas = gdom.count('class="flot-base"')
        print(f"graph page {args.graph}: main-graph {'found' if main_graph else 'missing'}, "
              f"{n_canvas} flot canvases")
        if not main_graph or n_canvas == 0:
            problems.append(f"graph page {args.graph}: the plot was not drawn")

        for url, png in ((base, args.out), (graph_url, args.graph_out)):
            png.parent.mkdir(parents=True, exist_ok=True)
            _chromium(browser, url, f"--screenshot={png.resolve()}", size="1400,1000",
                      wait_ms=args.wait_ms)
            why = _not_blank(png)
            print(f"screenshot {png.name}: {why or 'has content'}")
            if why:
                problems.append(why)
        # The legend's swatches are a few hundred coloured pixels; drawn lines are thousands.
        n_coloured = _coloured_pixels(args.graph_out)
        print(f"graph screenshot: {n_coloured} strongly coloured pixels (lines need >= 3000)")
        if n_coloured < 3000:
            problems.append(f"{args.graph_out}: no plotted lines ({n_coloured} coloured pixels)")
    finally:
        server.shutdown()
        tmp.cleanup()

    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
