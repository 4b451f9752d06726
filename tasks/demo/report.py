"""The demo's results table and its report folder: ``README.md``, ``index.html``, ``results.json``.

One row per (use case, metric)::

    | use case | metric | model | best baseline | baseline score | model wins | time |

"best baseline" is the best of the use case's baselines on that metric (the largest score, or
the smallest MASE). The two documents hold the same things: how the run was made, the table,
and per use case its data, notes, pictures and the command to try next.
"""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

from minitransformer.nn.io import save_json
from tasks.demo.context import UseCaseResult

__all__ = ["table_rows", "markdown_table", "write_report", "HEADER"]

HEADER = ("use case", "metric", "model", "best baseline", "baseline score", "model wins", "time")


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def table_rows(results: list[UseCaseResult]) -> list[tuple[str, ...]]:
    """The table's rows as strings; the time is given on a use case's first row."""
    rows = []
    for result in results:
        for k, score in enumerate(result.scores):
            name, value = score.best
            rows.append((result.name if k == 0 else "", score.metric, f"{score.model:.3f}", name,
                         f"{value:.3f}", "yes" if score.model_wins else "no",
                         _seconds(result.seconds) if k == 0 else ""))
    return rows


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    """A Markdown table whose columns are padded to line up on screen too."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(HEADER, *rows)]

    def line(cells) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def command_line(argv: list[str]) -> str:
    return "minitransformer " + shlex.join(argv)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _markdown(results, rows, about: list[str], failures: list[str], root: Path) -> str:
    parts = ["# minitransformer demo report", "", *[f"- {line}" for line in about], "",
             markdown_table(rows), ""]
    parts += [f"**Failed:** {failure}" for failure in failures]
    for result in results:
        parts += ["", f"## {result.name}", "", f"Data: {result.data}.", ""]
        for note in result.notes:
            parts += [note, ""]
        parts += [f"Trained model: `{_relative(result.run_dir, root)}/`. Try, from the folder the demo "
                  "ran in:", "", "```bash",
                  command_line(result.next_command), "```", "", f"({result.next_note}.)", ""]
        for picture in result.pictures:
            parts += [f"![{picture.caption}]({_relative(picture.path, root)})", "",
                      f"*{picture.caption}.*", ""]
    return "\n".join(parts).rstrip() + "\n"


_STYLE = """body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee;margin:.5rem 0}figure{margin:1rem 0}
figcaption{font-size:.9rem;color:#555}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto}
.no{color:#b00}.yes{color:#070}"""


def _inline(text: str) -> str:
    """``text`` as HTML, its Markdown code spans (`like this`) as ``<code>`` elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _html(results, rows, about: list[str], failures: list[str], root: Path) -> str:
    e = html.escape
    cells = []
    for row in rows:
        tds = [f"<td>{e(row[0])}</td>", f"<td>{e(row[1])}</td>", f'<td class="num">{e(row[2])}</td>',
               f"<td>{e(row[3])}</td>", f'<td class="num">{e(row[4])}</td>',
               f'<td class="{e(row[5])}">{e(row[5])}</td>', f'<td class="num">{e(row[6])}</td>']
        cells.append("<tr>" + "".join(tds) + "</tr>")
    body = ["<h1>minitransformer demo report</h1>", "<ul>", *[f"<li>{_inline(line)}</li>" for line in about],
            "</ul>", "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in HEADER) + "</tr>", *cells,
            "</table>"]
    body += [f'<p class="no"><b>Failed:</b> {_inline(failure)}</p>' for failure in failures]
    for result in results:
        body += [f"<h2>{e(result.name)}</h2>", f"<p>Data: {_inline(result.data)}.</p>"]
        body += [f"<p>{_inline(note)}</p>" for note in result.notes]
        body += [f"<p>Trained model: <code>{e(_relative(result.run_dir, root))}/</code>. Try, from the "
                 "folder the demo ran in:</p>",
                 f"<pre>{e(command_line(result.next_command))}</pre>",
                 f"<p>({_inline(result.next_note)}.)</p>"]
        for picture in result.pictures:
            body += [f'<figure><img src="{e(_relative(picture.path, root))}" alt="{e(picture.caption)}">'
                     f"<figcaption>{_inline(picture.caption)}.</figcaption></figure>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>minitransformer demo report</title>"
            "<link rel=\"icon\" href=\"data:,\">"  # no icon: the browser asks for no /favicon.ico
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(root: Path, results: list[UseCaseResult], about: list[str],
                 failures: list[str] = ()) -> dict[str, Path]:
    """Write ``README.md``, ``index.html`` and ``results.json`` into ``root``; returns their paths."""
    rows = table_rows(results)
    paths = {"markdown": root / "README.md", "html": root / "index.html", "json": root / "results.json"}
    paths["markdown"].write_text(_markdown(results, rows, about, list(failures), root), encoding="utf-8")
    paths["html"].write_text(_html(results, rows, about, list(failures), root), encoding="utf-8")
    payload = {"about": about, "failures": list(failures), "use_cases": [
        {"name": r.name, "seconds": round(r.seconds, 1), "run_dir": _relative(r.run_dir, root),
         "next_command": command_line(r.next_command),
         "scores": [{"metric": s.metric, "model": s.model, "baselines": s.baselines,
                     "best_baseline": s.best[0], "model_wins": s.model_wins,
                     "higher_is_better": s.higher_is_better} for s in r.scores],
         "pictures": [_relative(p.path, root) for p in r.pictures], "notes": r.notes} for r in results]}
    save_json(paths["json"], payload)
    return paths
