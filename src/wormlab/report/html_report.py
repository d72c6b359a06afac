"""``wormlab report``: one HTML file that opens anywhere with no network.

Figures are embedded as base64 PNG, the style sheet is inline, and there is no script and no
external URL, so the file can be mailed, archived or opened offline and shows the same thing.
Sections: scenario parameters, summary, figures (and the IPv4 map when the host table is
there), the validation table when the scenario is a historical one, and a per-organisation
table when the host table carries organisations.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from wormlab.report.runset import RunSet

ORG_COLUMNS = ("organisation", "organization", "org", "asn")
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;
color:#1b1b1f;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.meta{color:#666}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
td,th{border-bottom:1px solid #e4e4e4;padding:.25rem .7rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1rem 0}figure img{max-width:100%;height:auto}figcaption{color:#555;font-size:.85rem}
.pass{color:#17692e;font-weight:600}.fail{color:#b2182b;font-weight:600}.soft{color:#8a6d00}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """Numbers with thousands separators; everything else as text."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "never"
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def table(head: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    out = ["<table><thead><tr>", *(f"<th>{esc(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        cells = [f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                 for i, c in enumerate(row)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys of a nested mapping (the scenario), lists of tables shown inline."""
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for key, sub in value.items():
            items.extend(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [(prefix, "; ".join(", ".join(f"{k}={v}" for k, v in d.items()) for d in value))]
    return [(prefix, value)]


def scenario_section(runset: RunSet) -> str:
    sc = runset.scenario
    if sc is None:
        return "<p>No scenario.json in this folder.</p>"
    raw = sc.model_dump(mode="json", by_alias=True)
    raw.pop("sources", None)
    rows = [[esc(k), esc(fmt(v))] for k, v in flatten(raw) if k != "description"]
    desc = f"<p>{esc(sc.description)}</p>" if sc.description else ""
    sources = "".join(f"<li>{esc(s)}</li>" for s in sc.sources)
    return desc + table(["key", "value"], rows) + (f"<details><summary>sources</summary><ul>{sources}</ul></details>"
                                                   if sources else "")


def summary_section(runset: RunSet) -> str:
    summaries = [r.summary for r in runset.runs]
    keys = [k for k, v in summaries[0].items() if not isinstance(v, (list, dict))]
    if len(summaries) == 1:
        return table(["quantity", "value"], [[esc(k), esc(fmt(summaries[0][k]))] for k in keys], {1})
    rows = []
    for k in keys:
        values = [s.get(k) for s in summaries]
        nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) == len(values):
            lo, med, hi = np.quantile(nums, [0.05, 0.5, 0.95])
            rows.append([esc(k), esc(fmt(med)), esc(f"{fmt(lo)} – {fmt(hi)}")])
        else:
            distinct = sorted({str(v) for v in values})
            rows.append([esc(k), esc(distinct[0] if len(distinct) == 1 else f"{len(distinct)} values"), ""])
    return table(["quantity", f"median of {len(summaries)} runs", "5–95%"], rows, {1, 2})


def png_data_uri(fig: Any, dpi: int = 110) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figures_section(runset: RunSet) -> str:
    from wormlab.report.figures import KINDS, _pyplot, figure

    plt = _pyplot()
    captions = {
        "infection": "Hosts over time. Markers: published observations (▲ = more than). Dotted lines: "
                     "defence and calendar changes.",
        "rate": "New infections per minute.",
        "traffic": "Scan probes per second (log scale).",
        "flood": "Load at the flood target.",
        "map": "The IPv4 address space by /16 on a Hilbert curve at the end of the run "
               "(first run when there are several).",
    }
    parts = []
    for kind in KINDS:
        if kind == "map" and runset.hosts is None:
            continue
        fig = figure(runset, kind)
        try:
            uri = png_data_uri(fig)
        finally:
            plt.close(fig)
        parts.append(f'<figure id="fig-{kind}"><img alt="{esc(kind)} figure" src="{uri}">'
                     f"<figcaption>{esc(captions[kind])}</figcaption></figure>")
    return "".join(parts)


def validation_rows(runset: RunSet) -> list[Any]:
    """The history checks of the scenario, evaluated over these runs; empty when none apply."""
    try:
        from wormlab.history import validate as hv
    except ImportError:
        return []
    checks = hv._checks().get(runset.name)
    if not checks or runset.scenario is None:
        return []
    metrics = np.full((len(runset.runs), len(checks)), np.nan)
    for i, run in enumerate(runset.runs):
        for j, check in enumerate(checks):
            try:
                metrics[i, j] = float(check.metric(run))
            except Exception:  # noqa: BLE001 - a metric this run cannot give stays n/a
                pass
    return hv.evaluate(runset.name, checks, metrics)


def validation_section(runset: RunSet) -> str:
    results = validation_rows(runset)
    if not results:
        return ""
    rows = []
    for r in results:
        verdict = "n/a" if r.passed is None else ("PASS" if r.passed else "FAIL")
        if r.confidence != "firm" and r.passed is not None:  # the wording of `wormlab validate`
            verdict = "ok (soft)" if r.passed else "off (soft)"
        cls = "soft" if r.confidence != "firm" else ("pass" if r.passed else "fail")
        sim = fmt(r.simulated_median) + (f" [{fmt(r.low)}, {fmt(r.high)}]" if r.runs > 1 else "")
        rows.append([esc(f"{r.check} [{r.unit}]"), esc(f"{r.observed} ({r.source}, {r.confidence})"),
                     esc(sim), esc(r.tolerance), f'<span class="{cls}">{esc(verdict)}</span>'
                     + (f" {esc(r.note)}" if r.note else "")])
    return ("<h2>Validation against the published record</h2><p>Firm checks decide; soft ones are "
            "reported only. With one run the 'median' is that run.</p>"
            + table(["quantity", "observed (source)", "simulated", "band", "result"], rows, {2}))


def organisation_section(runset: RunSet) -> str:
    hosts = runset.hosts
    if hosts is None:
        return ""
    column = next((c for c in ORG_COLUMNS if c in hosts.columns), None)
    if column is None:
        return ""
    ever = hosts["infected_at"].notna()
    grouped = hosts.assign(ever=ever).groupby(column, observed=True)["ever"].agg(["size", "sum"])
    grouped = grouped.sort_values("size", ascending=False).head(30)
    rows = [[esc(name), fmt(int(r["size"])), fmt(int(r["sum"])), f"{r['sum'] / r['size']:.1%}"]
            for name, r in grouped.iterrows()]
    return (f"<h2>Per {esc(column)}</h2>"
            + table([column, "vulnerable hosts", "ever infected", "share"], rows, {1, 2, 3}))


def render(runset: RunSet, figures: bool = True) -> str:
    """The whole report as one HTML string (``figures=False`` leaves the pictures out)."""
    from wormlab import __version__

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    what = "one run" if len(runset.runs) == 1 else f"an ensemble of {len(runset.runs)} runs"
    body = [
        f"<h1>{esc(runset.name)}</h1>",
        f'<p class="meta">wormlab {esc(__version__)} report of {esc(what)} from '
        f"<code>{esc(runset.source)}</code>, written {esc(now)}. Times are UTC.</p>",
        "<h2>Summary</h2>", summary_section(runset),
        "<h2>Figures</h2>" if figures else "", figures_section(runset) if figures else "",
        validation_section(runset),
        organisation_section(runset),
        "<h2>Scenario parameters</h2>", scenario_section(runset),
    ]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{esc(runset.name)} — wormlab report</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def check_output(path: str | Path) -> Path:
    """The report's path, checked before any work: an .html file in a writable folder."""
    from wormlab.errors import InputError
    from wormlab.report.figures import check_writable

    if Path(path).suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{path}: a report is an HTML file; give a name ending in .html")
    return check_writable(path)


def write_report(runset: RunSet, path: str | Path) -> Path:
    """Render and write atomically; the output path is checked before any drawing."""
    from wormlab.result import atomic_write

    check_output(path)
    text = render(runset)
    return atomic_write(path, lambda p: Path(p).write_text(text, encoding="utf-8"))
