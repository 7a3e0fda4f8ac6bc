"""Pre-render the demo's snapshots into ``resonance/demo/static/snapshots/`` for
installations without Chromium (``resonance.demo.snapshots.install_prerendered``).

Why: the demo's first content page must show the heatmap on a real screenshot;
where Chromium is absent at seed time, these files stand in. Only the most
viewed pages at 1,440 px are kept, to keep the package small (a full-page PNG
of the landing page is about 700 KB).

It seeds the demo into a temporary data folder, takes the snapshots with the
same code as the seed (``snapshot_demo``), and writes each PNG and
``index.json`` (path, image, and every element's box and label):

    python scripts/demo_snapshots.py --pages 1 [--out resonance/demo/static/snapshots]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "resonance/demo/static/snapshots"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        os.environ["RESONANCE_DATA_DIR"] = data
        os.environ.pop("DATABASE_URL", None)
        from sqlalchemy import select

        from resonance.app import create_app
        from resonance.cli import seed_demo_if_empty
        from resonance.core import db
        from resonance.core.engine import upgrade
        from resonance.core.models import Site
        from resonance.demo.site import demo_site
        from resonance.demo.snapshots import INDEX, most_viewed, served
        from tracker.snapshots import capture, launched_browser

        app = create_app()
        with app.app_context():
            upgrade(app.config["DATABASE_URL"])
            seed_demo_if_empty()
            session = db.get_session()
            site_id = session.scalar(select(Site.id).where(Site.key == "demo"))
            paths = [
                urlsplit(u).path for u in most_viewed(session, site_id, args.pages)
            ]
        site = demo_site()
        args.out.mkdir(parents=True, exist_ok=True)
        shots = []
        with launched_browser() as browser, served(app) as base:
            for path in paths:
                # Every element any visitor can click, at any width: whatever
                # traffic a seed makes, its clicks find their box.
                page = path if path in site.pages else path + "/"
                selectors = sorted(
                    {
                        element.selector
                        for layout in site.pages[page].values()
                        for element in layout.elements
                    }
                )
                shot = capture(browser, base + path, 1440, selectors)
                image = (path.strip("/").replace("/", "-") or "home") + "-1440.png"
                (args.out / image).write_bytes(shot.png)
                elements = {
                    selector: [*box, shot.labels.get(selector, "")]
                    for selector, box in shot.boxes.items()
                    if box[1] < shot.height
                }
                shots.append({"path": path, "image": image, "elements": elements})
                print(f"{image}: {len(shot.png):,} bytes, {len(elements)} elements")
        index = {"snapshots": shots}
        (args.out / INDEX).write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
