"""The result of a run as text, as JSON, and as one self-contained HTML page."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from serve_app.loadtest.svg import line_chart


def text_lines(result: dict) -> list[str]:
    s = result["summary"]
    lat = s["latency_ms"]
    lines = [
        f"target     : {result['base_url']}  ({result['model']} model: {result['load']})",
        f"product    : {result['setup']['product_id']}  stock {result['options']['stock']}, "
        f"{result['setup']['shoppers']} shoppers",
        f"attempts   : {s['attempts']} in {s['elapsed_s']:.2f} s: {s['created']} created (201), "
        f"{s['out_of_stock']} out of stock (409), {s['unresolved']} unresolved; {s['retried_attempts']} retried",
        f"throughput : {s['served_rps']:,.1f} served checkouts/s",
        "latency ms : " + "  ".join(f"{k} {v:,.1f}" for k, v in lat.items()),
        "answers    : " + ", ".join(f"{k}: {v}" for k, v in s["errors"]["final"].items()),
    ]
    if s["errors"]["all_tries"] != s["errors"]["final"]:
        lines.append("every try  : " + ", ".join(f"{k}: {v}" for k, v in s["errors"]["all_tries"].items()))
    if result.get("settled_after_run"):
        lines.append(f"settled    : {result['settled_after_run']} attempt(s) answered only after the run (same key)")
    lines.append(f"audit      : {'PASSED' if result['audit']['ok'] else 'FAILED'}")
    for check in result["audit"]["checks"]:
        lines.append(f"  [{'ok' if check['ok'] else 'FAIL'}] {check['name']}: {check['detail']}")
    return lines


def _table(rows: list[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def html_page(result: dict) -> str:
    s, timeline = result["summary"], result["timeline"]
    throughput = line_chart(
        "Served checkouts per second", {
            "201 created": [(row["t_s"], row["created_per_s"]) for row in timeline],
            "409 out of stock": [(row["t_s"], row["out_of_stock_per_s"]) for row in timeline],
        }, x_label="seconds since start (by finish time)", y_label="per second")
    latency = line_chart(
        "Latency", {
            "p50": [(row["t_s"], row["p50_ms"]) for row in timeline],
            "p99": [(row["t_s"], row["p99_ms"]) for row in timeline],
        }, x_label="seconds since start (by finish time)", y_label="ms")
    audit_rows = "".join(
        f"<tr class=\"{'ok' if c['ok'] else 'fail'}\"><td>{'ok' if c['ok'] else 'FAIL'}</td>"
        f"<td>{escape(c['name'])}</td><td>{escape(c['detail'])}</td></tr>" for c in result["audit"]["checks"])
    errors = "".join(f"<tr><td>{escape(k)}</td><td>{v}</td><td>{s['errors']['all_tries'].get(k, '')}</td></tr>"
                     for k, v in s["errors"]["final"].items())
    verdict = "PASSED" if result["audit"]["ok"] else "FAILED"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flash sale {escape(result['run_id'])}: audit {verdict}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 60em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
tr.ok td:first-child {{ color: #2a7d2a; font-weight: bold; }}
tr.fail td {{ background: #fde8e8; }} tr.fail td:first-child {{ color: #b00; font-weight: bold; }}
</style></head><body>
<h1>Flash sale {escape(result['run_id'])}: audit {verdict}</h1>
{_table([("target", result["base_url"]), ("load", f"{result['model']} model, {result['load']}"),
         ("started", result["started_at"]), ("product", result["setup"]["product_id"]),
         ("stock", result["options"]["stock"]), ("shoppers", result["setup"]["shoppers"]),
         ("attempts", s["attempts"]), ("201 created", s["created"]), ("409 out of stock", s["out_of_stock"]),
         ("unresolved", s["unresolved"]), ("retried", s["retried_attempts"]),
         ("elapsed", f"{s['elapsed_s']:.2f} s"), ("served checkouts/s", f"{s['served_rps']:,.1f}")])}
<h2>Latency (ms, from the intended send time)</h2>
{_table(list(s["latency_ms"].items()))}
<h2>Over time</h2>
{throughput}
{latency}
<h2>Answers</h2>
<table><tr><th>status / code</th><th>final</th><th>every try</th></tr>{errors}</table>
<h2>Audit</h2>
<table><tr><th></th><th>check</th><th>detail</th></tr>{audit_rows}</table>
</body></html>
"""


def write(result: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"flash-sale-{result['run_id']}"
    json_path, html_path = stem.with_suffix(".json"), stem.with_suffix(".html")
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    html_path.write_text(html_page(result))
    return json_path, html_path
