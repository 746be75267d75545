"""Screenshot the top of a plan's browser report (docs/report.png in the README).

Solves the bundled example into a temporary folder (or takes a folder ``aop solve`` wrote)
and photographs its report.html in headless Chromium from Debian's packages, driven by
Playwright (``apt-get install chromium``; ``pip install playwright``; no browser download).

    python scripts/screenshot_report.py                      # the example -> docs/report.png
    python scripts/screenshot_report.py --dir plan --out shot.png --height 2400
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", help="a folder aop solve wrote (default: solve data/example.xlsx)")
    ap.add_argument("--out", default=str(REPO / "docs" / "report.png"))
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1700, help="pixels of the page's top to keep")
    a = ap.parse_args(argv)
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        print("screenshot_report: no chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    from aop.cli import main as aop
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(a.dir) if a.dir else Path(tmp) / "plan"
        if not a.dir and aop(["solve", str(REPO / "data" / "example.xlsx"), "--out", str(folder)]) != 0:
            return 1
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": a.width, "height": a.height}, device_scale_factor=1)
            page.goto((folder / "report.html").resolve().as_uri())
            page.wait_for_function("document.querySelectorAll('div.chart').length === document.querySelectorAll('div.chart.js-plotly-plot').length")
            page.wait_for_timeout(500)  # plotly's transitions
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=a.out, full_page=False)
            browser.close()
    print(f"screenshot_report: wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
