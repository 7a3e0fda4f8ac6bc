"""Capture the real layout of the demo pages into ``resonance/demo/layout.json``.

Why: synthetic traffic must click on elements that exist, at the coordinates they
have at the visitor's width, and report sections exactly as the snippet would.
Guessing boxes would produce heatmaps that float beside the page, so this script
renders every demo page in headless Chromium and measures it.

It serves only the demo blueprint (plus an empty ``/r.js`` so the page loads) on
127.0.0.1, blocks every other host, and records per page and width: the document
height, the h1–h3 sections as ``[level, text, top, height, words]`` (the first four
as the snippet's ``l`` event sends them), and the clickable elements with the
selector the snippet would send and their box in page pixels.

Run after changing a demo template or the stylesheet, then commit the JSON:

    python scripts/demo_layout.py
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response
from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resonance.demo.pages import PAGE_PATHS, bp  # noqa: E402

OUTPUT = ROOT / "resonance" / "demo" / "layout.json"
# 375/768/1440 are the heatmap widths; the others are the device widths the
# traffic generator also uses, measured rather than guessed.
WIDTHS = (375, 390, 414, 768, 820, 1280, 1440)
# No vh units in the stylesheet, so the viewport height does not change layout.
VIEWPORT_HEIGHT = 600
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Runs in the page. Mirrors what the snippet measures: sections from h1–h3 in
# document order, selectors by the rule of docs/beacon.md (#id, then a unique
# tag[data-…] hook, then a tag:nth-of-type path from the nearest id).
CAPTURE_JS = r"""
() => {
  const INTERACTIVE =
    "a[href], button, input, select, textarea, summary, [role=button]";
  const STATIC = "img, h1, h2, h3, blockquote, .plan-price, .compare-table td";
  const clean = (s) => (s || "").replace(/\s+/g, " ").trim();
  const doc = document.documentElement;
  const dh = Math.max(doc.scrollHeight, document.body.scrollHeight);
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return [Math.round(r.left + scrollX), Math.round(r.top + scrollY),
            Math.round(r.width), Math.round(r.height)];
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };

  const heads = [...document.querySelectorAll("h1, h2, h3")].filter(shown);
  const tops = heads.map((h) => box(h)[1]);
  const words = heads.map(() => 0);
  const index = new Map(heads.map((h, i) => [h, i]));
  const walker = document.createTreeWalker(
    document.querySelector("main") || document.body,
    NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  let current = -1;
  for (let node = walker.currentNode; node; node = walker.nextNode()) {
    if (node.nodeType === 1) {
      if (index.has(node)) current = index.get(node);
    } else if (current >= 0 && !node.parentElement.closest("script, style")) {
      words[current] += clean(node.textContent).split(" ").filter(Boolean).length;
    }
  }
  const sec = heads.map((h, i) => {
    const end = i + 1 < heads.length ? tops[i + 1] : dh;
    return [Number(h.tagName[1]), clean(h.textContent).slice(0, 200), tops[i],
            Math.max(0, end - tops[i]), words[i]];
  });

  const unique = (sel) => document.querySelectorAll(sel).length === 1;
  const idSel = (el) => "#" + CSS.escape(el.id);
  const selector = (el) => {
    if (el.id && unique(idSel(el))) return idSel(el);
    const tag = el.tagName.toLowerCase();
    for (const attr of el.attributes) {
      if (!attr.name.startsWith("data-")) continue;
      const sel = `${tag}[${attr.name}="${CSS.escape(attr.value)}"]`;
      if (unique(sel)) return sel;
    }
    const parts = [];
    for (let node = el; node && node !== doc; node = node.parentElement) {
      if (node !== el && node.id && unique(idSel(node))) {
        parts.unshift(idSel(node));
        break;
      }
      const name = node.tagName.toLowerCase();
      if (node === document.body) { parts.unshift(name); break; }
      const same = [...node.parentElement.children].filter(
        (c) => c.tagName === node.tagName);
      parts.unshift(`${name}:nth-of-type(${same.indexOf(node) + 1})`);
    }
    return parts.join(" > ");
  };
  const kind = (el, interactive) => {
    if (!interactive) return "static";
    if (el.matches("input, select, textarea")) return "field";
    if (el.matches(".btn, [data-cta], [data-plan]")) return "cta";
    if (el.closest("header.site-header")) return "nav";
    if (el.closest("footer")) return "footer";
    return "link";
  };
  const href = (el) => {
    if (!el.href) return null;
    const url = new URL(el.href);
    if (url.origin !== location.origin) return url.href;
    return url.pathname + url.search + url.hash;
  };

  const elements = [];
  const field = "input, select, textarea";
  for (const el of document.querySelectorAll(INTERACTIVE + ", " + STATIC)) {
    const interactive = el.matches(INTERACTIVE);
    // A click inside a link is recorded on the link; a static element holding
    // a link would overlap it. Keep only the element a click is recorded on.
    if (!interactive && (el.closest(INTERACTIVE) || el.querySelector(INTERACTIVE))) {
      continue;
    }
    const sel = selector(el);
    if (document.querySelector(sel) !== el) throw new Error("selector " + sel);
    elements.push({
      s: sel, tg: el.tagName.toLowerCase(), k: kind(el, interactive),
      tx: el.matches(field) ? "" : clean(el.textContent).slice(0, 60),
      h: el.tagName === "A" ? href(el) : null, in: interactive,
      box: shown(el) ? box(el) : null,
    });
  }
  return {title: document.title, dh, sec, elements};
}
"""


def demo_app() -> Flask:
    """Only the demo blueprint and a stub snippet: the layout must not need a DB."""
    app = Flask(__name__)
    app.config["DEMO_SITE_KEY"] = "demo"
    app.register_blueprint(bp)

    @app.get("/r.js")
    def stub_snippet() -> Response:
        return Response("", mimetype="text/javascript")

    return app


class _QuietHandler(WSGIRequestHandler):
    """No access log: a capture run makes dozens of requests nobody reads."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 in a thread; yield its origin."""
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def capture(
    origin: str, widths: tuple[int, ...] = WIDTHS, screenshots: Path | None = None
) -> dict:
    """Measure every demo page at every width; the result is layout.json's data.

    With ``screenshots``, also save a full-page PNG per page and width there, to
    check by eye that the site looks right on phones, tablets and desktops.
    """
    from playwright.sync_api import Route, sync_playwright

    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    pages: dict[str, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            for width in widths:
                context = browser.new_context(
                    viewport={"width": width, "height": VIEWPORT_HEIGHT}
                )
                context.route("**/*", local_only)
                page = context.new_page()
                for path in PAGE_PATHS:
                    page.goto(origin + path, wait_until="load")
                    page.evaluate("document.fonts.ready")
                    measured = page.evaluate(CAPTURE_JS)
                    if screenshots:
                        name = path.strip("/").replace("/", "_") or "demo"
                        page.screenshot(
                            path=screenshots / f"{name}_{width}.png", full_page=True
                        )
                    merge(pages.setdefault(path, {}), width, measured)
                context.close()
        finally:
            browser.close()
    return {"widths": list(widths), "pages": pages}


def merge(entry: dict, width: int, measured: dict) -> None:
    """Fold one width's measurement into the page entry.

    Element properties (selector, tag, text, link) do not depend on the width,
    so they are stored once per page and only the boxes per width: this keeps the
    file small enough to commit and to load on every generator run.
    """
    elements = [
        {k: v for k, v in el.items() if k != "box"} for el in measured["elements"]
    ]
    if "elements" not in entry:
        entry["title"] = measured["title"]
        entry["elements"] = elements
        entry["layouts"] = {}
    elif entry["elements"] != elements:
        raise RuntimeError(f"elements differ between widths on {entry['title']!r}")
    entry["layouts"][str(width)] = {
        "dh": measured["dh"],
        "sec": measured["sec"],
        "box": [el["box"] for el in measured["elements"]],
    }


def to_json(data: dict) -> str:
    """Compact JSON with one line per element and per width, so diffs stay readable."""

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    lines = ["{", f'"widths":{dump(data["widths"])},', '"pages":{']
    page_blocks = []
    for path, page in data["pages"].items():
        elements = ",\n".join(dump(el) for el in page["elements"])
        layouts = ",\n".join(
            f"{dump(width)}:{dump(layout)}" for width, layout in page["layouts"].items()
        )
        page_blocks.append(
            f'{dump(path)}:{{"title":{dump(page["title"])},\n'
            f'"elements":[\n{elements}],\n"layouts":{{\n{layouts}}}}}'
        )
    lines.append(",\n".join(page_blocks))
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--screenshots", type=Path, help="also save full-page PNGs in this folder"
    )
    args = parser.parse_args(argv)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    with serving(demo_app()) as origin:
        data = capture(origin, screenshots=args.screenshots)
    text = to_json(data)
    json.loads(text)  # the hand-made layout must still be valid JSON
    args.output.write_text(text, encoding="utf-8")
    print(f"{args.output}: {len(data['pages'])} pages, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
