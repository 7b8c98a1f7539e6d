"""A report built once as blocks and written twice: report.md (images beside it) and a single
self-contained report.html (images embedded as data URIs)."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from sim.experiment import atomic

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f2f2f2}figure{margin:1.5em 0}img{max-width:100%}
figcaption{font-weight:600;margin-bottom:.3em}code{background:#f5f5f5;padding:0 .2em}.sub{color:#666}"""
_MIME = {".png": "image/png", ".svg": "image/svg+xml"}


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` in HTML, everything else escaped."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


_MD_SPECIAL = re.compile(r"([\\<>&|]|\](?=[(\[:]))")  # a ] that would close a link text or a reference


_MD_BLOCK = re.compile(r"^\s*(?:([#>+=~-])|(\d+)([.)]))")  # what would make a paragraph a heading, list or quote


def _md(text: str, block: bool = False) -> str:
    """Text for report.md: what report.html escapes is escaped here too (raw HTML, links and images from a
    scenario's text render as text); our own **bold** and `code` stay. One line: a newline cannot start a
    heading or end a table row; with `block` (a paragraph or heading), a leading # - + = > or "1." is
    escaped too."""
    text = _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))
    if block:
        text = _MD_BLOCK.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text.lstrip(), count=1)
    return text


class Report:
    def __init__(self, title: str, subtitle: str):
        self.title, self.subtitle = title, subtitle
        self.blocks: list[tuple] = []

    def heading(self, text: str) -> None:
        self.blocks.append(("heading", text))

    def text(self, text: str) -> None:
        self.blocks.append(("text", text))

    def table(self, header: list[str], rows: list[list]) -> None:
        self.blocks.append(("table", header, [[str(c) for c in row] for row in rows]))

    def figure(self, caption: str, path: Path) -> None:
        self.blocks.append(("figure", caption, Path(path)))

    def markdown(self) -> str:
        lines = [f"# {_md(self.title, True)}", "", _md(self.subtitle, True), ""]
        for block in self.blocks:
            if block[0] == "heading":
                lines += [f"## {_md(block[1], True)}", ""]
            elif block[0] == "text":
                lines += [_md(block[1], True), ""]
            elif block[0] == "table":
                _, header, rows = block
                lines += ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
                lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows] + [""]
            else:
                lines += [f"### {_md(block[1])}", "", f"![{_md(block[1])}]({block[2].name})", ""]
        return "\n".join(lines)

    def html(self) -> str:
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                 f"<style>{CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
                 f"<p class='sub'>{html.escape(self.subtitle)}</p>"]
        for block in self.blocks:
            if block[0] == "heading":
                parts.append(f"<h2>{html.escape(block[1])}</h2>")
            elif block[0] == "text":
                parts.append(f"<p>{_inline(block[1])}</p>")
            elif block[0] == "table":
                _, header, rows = block
                head = "".join(f"<th>{_inline(h)}</th>" for h in header)
                body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            else:
                _, caption, path = block
                shown = path if path.suffix in _MIME else path.with_suffix(".png")
                data = base64.b64encode(shown.read_bytes()).decode()
                parts.append(f"<figure><figcaption>{html.escape(caption)}</figcaption>"
                             f"<img alt='{html.escape(caption)}' src='data:{_MIME[shown.suffix]};base64,{data}'>"
                             "</figure>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, folder: Path) -> None:
        atomic.write_text(Path(folder) / "report.md", self.markdown() + "\n")
        atomic.write_text(Path(folder) / "report.html", self.html())
