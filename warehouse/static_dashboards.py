"""The dashboards as a static site: every page of dashboards/ rendered to HTML from the marts.

`warehouse dashboards --out DIR` (make dashboards) runs each Streamlit page script of
dashboards/app.py once per month it offers, with a stand-in for the few `streamlit` calls the
pages make, and writes what they show as plain HTML: headings, metrics, tables, and every
Altair chart as inline SVG (vl-convert, offline). The pages need no server and no network, so
CI publishes them next to the static docs. They read the marts as the dashboards' login, a
member of analytics_users, exactly as the live app does.
"""

from __future__ import annotations

import html
import os
import runpy
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vl_convert
from markdown_it import MarkdownIt

APP_DIR = Path("dashboards")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #262730; }
nav { background: #f0f2f6; padding: 12px 24px; }
nav a { margin-right: 18px; color: #262730; }
nav a.current { font-weight: 600; }
main { padding: 8px 24px 40px; max-width: 1400px; }
.months a { margin-right: 10px; }
.months a.current { font-weight: 600; }
.row { display: flex; gap: 24px; flex-wrap: wrap; }
.row > div { flex: 1; min-width: 280px; }
.metric { margin: 8px 0; }
.metric .label { font-size: 14px; color: #555; }
.metric .value { font-size: 32px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure.chart { margin: 8px 0; }
"""


class StopPage(Exception):
    """st.stop() or st.error(): the page ends here."""


@dataclass
class PageSpec:
    script: str  # relative to dashboards/, e.g. views/nps.py
    title: str
    slug: str  # the file name without .html (the live app's url path; index for the default)


@dataclass
class Block:
    """Where a page's output goes: the page itself, or one of st.columns()."""

    parts: list[str] = field(default_factory=list)

    def title(self, text: str) -> None:
        self.parts.append(f"<h1>{html.escape(text)}</h1>")

    def subheader(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def markdown(self, text: str) -> None:
        self.parts.append(MarkdownIt().render(text))

    def metric(self, label: str, value: object) -> None:
        self.parts.append(f'<div class="metric"><div class="label">{html.escape(label)}</div>'
                          f'<div class="value">{html.escape(str(value))}</div></div>')

    def table(self, data: Any) -> None:
        # A pandas Styler (formatted) or DataFrame; both render an HTML table.
        rendered = data.to_html() if hasattr(data, "to_html") else html.escape(str(data))
        self.parts.append(f'<div class="table">{rendered}</div>')

    def altair_chart(self, chart: Any, **_: Any) -> None:
        self.parts.append(f'<figure class="chart">{vl_convert.vegalite_to_svg(chart.to_json())}'
                          "</figure>")

    def error(self, text: str) -> None:
        self.parts.append(f'<p class="error">{html.escape(text)}</p>')
        raise StopPage(text)


class StaticStreamlit(types.ModuleType):
    """The part of the `streamlit` module the dashboards use, writing HTML instead."""

    def __init__(self, slugs: dict[str, str], month: str | None) -> None:
        super().__init__("streamlit")
        self.page = Block()
        self.slugs = slugs  # page script -> file name
        self.query_params: dict[str, str] = {"month": month} if month else {}
        self.months: list[str] = []  # what the page's month picker offered
        self.pages: list[PageSpec] = []
        self.page_title = "Dashboards"

    def __getattr__(self, name: str) -> Any:  # st.title, st.metric, ... write to the page
        return getattr(self.page, name)

    def set_page_config(self, page_title: str = "Dashboards", **_: Any) -> None:
        self.page_title = page_title

    def Page(self, script: str, title: str, url_path: str | None = None,  # noqa: N802
             default: bool = False) -> PageSpec:
        slug = "index" if default else (url_path or Path(script).stem)
        spec = PageSpec(script, title, slug)
        self.pages.append(spec)
        return spec

    def navigation(self, pages: Sequence[PageSpec]) -> Any:
        return types.SimpleNamespace(run=lambda: None)

    def columns(self, spec: int | Sequence[float]) -> list[Block]:
        count = spec if isinstance(spec, int) else len(spec)
        blocks = [Block() for _ in range(count)]
        self.page.parts.append(blocks)  # type: ignore[arg-type]  # flattened by render()
        return blocks

    def page_link(self, script: str, label: str, **_: Any) -> None:
        href = f"{self.slugs.get(script, Path(script).stem)}.html"
        self.page.parts.append(f'<p><a href="{href}">{html.escape(label)}</a></p>')

    def selectbox(self, label: str, options: Sequence[str], index: int = 0, **_: Any) -> str:
        self.months = list(options)
        return options[index]

    def stop(self) -> None:
        raise StopPage("st.stop()")

    def cache_data(self, *args: Any, **_: Any) -> Any:
        if args and callable(args[0]):
            return args[0]
        return lambda function: function

    def render(self) -> str:
        out = []
        for part in self.page.parts:
            if isinstance(part, list):
                cells = "".join(f"<div>{''.join(block.parts)}</div>" for block in part)
                out.append(f'<div class="row">{cells}</div>')
            else:
                out.append(part)
        return "".join(out)


@contextmanager
def _as_streamlit(module: StaticStreamlit, app_dir: Path) -> Iterator[None]:
    """Run page scripts as the live app does (dashboards/ importable), with the stand-in."""
    saved = {name: sys.modules.get(name) for name in ("streamlit", "data")}
    sys.modules["streamlit"] = module
    sys.modules.pop("data", None)  # data.py imports streamlit: load it against the stand-in
    sys.path.insert(0, str(app_dir))
    try:
        yield
    finally:
        sys.path.remove(str(app_dir))
        for name, value in saved.items():
            if value is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = value


def _run(app_dir: Path, script: str, slugs: dict[str, str],
         month: str | None) -> StaticStreamlit:
    module = StaticStreamlit(slugs, month)
    with _as_streamlit(module, app_dir):
        try:
            runpy.run_path(str(app_dir / script), run_name="__main__")
        except StopPage:
            pass
    return module


def pages(app_dir: Path) -> list[PageSpec]:
    """The pages dashboards/app.py declares, in its order."""
    return _run(app_dir, "app.py", {}, None).pages


CURRENT = ' class="current"'


def _html(title: str, nav: list[PageSpec], current: str, months: str, body: str) -> str:
    links = "".join(
        f'<a href="{spec.slug}.html"{CURRENT if spec.slug == current else ""}>'
        f"{html.escape(spec.title)}</a>" for spec in nav)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><nav>{links}</nav><main>{months}{body}</main></body></html>\n")


def build(out_dir: Path, uri: str, app_dir: Path = APP_DIR,
          progress: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Write every page (and each month of a page with a month picker) to out_dir as HTML,
    reading the marts through `uri`. Returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DASHBOARDS_URI"] = uri
    nav = pages(app_dir)
    slugs = {spec.script: spec.slug for spec in nav}
    written = []
    for spec in nav:
        first = _run(app_dir, spec.script, slugs, None)
        runs: list[tuple[str, StaticStreamlit]] = [(spec.slug, first)]
        labels = first.months
        for label in labels:  # one file per month: <page>-<YYYY-MM>.html
            runs.append((f"{spec.slug}-{label}", _run(app_dir, spec.script, slugs, label)))
        for name, run in runs:
            months = "".join(
                f'<a href="{spec.slug}-{label}.html"'
                f'{CURRENT if name == f"{spec.slug}-{label}" else ""}>{label}</a>'
                for label in labels)
            path = out_dir / f"{name}.html"
            path.write_text(_html(f"{spec.title} - {first.page_title}", nav, spec.slug,
                                  f'<p class="months">Month: {months}</p>' if labels else "",
                                  run.render()), encoding="utf-8")
            written.append(path)
            progress(str(path))
    return written
