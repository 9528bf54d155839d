"""The benchmark report: every benchmark, each figure next to its baseline, in one document.

Runs bench/take_latency.py, fanout.py, mixer.py, overlays.py and prompter_scroll.py (one
after the other, each bounded in count and time, loopback only), then writes the figures of
every area as markdown and JSON and prints the markdown:

    take latency vs a bare obs-websocket client, hard-start error, mixer CPU per frame vs
    ffmpeg, glass-to-glass latency (mixer vs ffmpeg), cue-to-pixel latency (overlay page vs a
    bare websocket page), state fan-out to N consoles (controller vs a bare aiohttp
    broadcast), event-loop lag (controller vs the same probe in a bare loop), prompter scroll
    from the operator to another screen (controller vs a bare aiohttp relay)

with medians and spread, ratios, and the machine it ran on (load average at start and end).

Run: `make bench` / `showctl bench` (full counts: bench/results/report.md and report.json,
and each benchmark's NAME.json beside them), `make bench-quick` / `showctl bench --quick`
(small counts, a pipeline check; written to bench/results/quick/), `--only fanout`
(repeatable) for some, `--out DIR` elsewhere, `--from-results DIR` to compose a report from
the per-benchmark JSON files a run left (nothing is run). The folder is made when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, load_average, machine  # noqa: E402

SCHEMA = 1
FRAME_MS = 1000 / 30  # one frame at 30 fps: the hard start's budget


@dataclass(frozen=True, slots=True)
class Bench:
    """One benchmark: its module (bench.NAME, with ``run(**params)``) and its counts."""

    name: str
    full: dict[str, Any]
    quick: dict[str, Any]
    timeout_s: float  # full; quick gets a third of it (at least 120 s)


BENCHES: tuple[Bench, ...] = (
    Bench("take_latency", {"takes": 50, "hard": 20}, {"takes": 10, "hard": 3}, 300),
    Bench("fanout", {"clients": 200, "takes": 50}, {"clients": 20, "takes": 10}, 300),
    Bench("mixer", {"seconds": 20.0}, {"seconds": 6.0}, 240),
    Bench("overlays", {"runs": 50, "frames": 300}, {"runs": 10, "frames": 120}, 300),
    Bench("prompter_scroll", {"positions": 600, "screens": 1},
          {"positions": 100, "screens": 1}, 180),
)
NAMES = tuple(b.name for b in BENCHES)


# --- running ----------------------------------------------------------------------------------

def run_one(bench: Bench, quick: bool) -> dict[str, Any]:
    """Run one benchmark in this process; never raises: a failure is recorded as such."""
    params = bench.quick if quick else bench.full
    timeout = max(120.0, bench.timeout_s / 3) if quick else bench.timeout_s
    started = time.monotonic()
    entry: dict[str, Any] = {"params": params, "timeout_s": timeout}
    print(f"bench: {bench.name} {params} ...", file=sys.stderr, flush=True)
    try:
        run = importlib.import_module(f"bench.{bench.name}").run
        if inspect.iscoroutinefunction(run):
            result = asyncio.run(asyncio.wait_for(run(**params), timeout))
        else:
            result = run(**params)
        entry.update(status="ok", result=result)
    except BaseException as exc:  # a benchmark's failure must not lose the others' figures
        if isinstance(exc, KeyboardInterrupt):
            raise
        entry.update(status="error", error=f"{type(exc).__name__}: {exc}",
                     traceback=traceback.format_exc(limit=6))
        print(f"bench: {bench.name} failed: {entry['error']}", file=sys.stderr, flush=True)
    entry["seconds"] = round(time.monotonic() - started, 1)
    return entry


def run_all(names: Sequence[str], quick: bool) -> dict[str, dict[str, Any]]:
    return {b.name: run_one(b, quick) for b in BENCHES if b.name in names}


def from_results(directory: Path, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The entries of per-benchmark result files (NAME.json) a standalone run wrote."""
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        path = directory / f"{name}.json"
        if path.exists():
            out[name] = {"status": "ok", "result": json.loads(path.read_text("utf-8")),
                         "source": str(path)}
        else:
            out[name] = {"status": "skipped", "error": f"no {path}"}
    return out


# --- composing --------------------------------------------------------------------------------

def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return None
    return a / b


def _stats(data: Any) -> dict[str, Any] | None:
    """The median/spread keys of a summary (or a single value as its median)."""
    if isinstance(data, int | float):
        return {"median": data}
    if not isinstance(data, dict) or not data.get("n", 1):
        return None
    keys = ("n", "median_ms", "p95_ms", "p99_ms", "min_ms", "max_ms")
    out = {k.removesuffix("_ms"): data[k] for k in keys if k in data}
    return out if "median" in out else None


def _figure(area: str, name: str, unit: str, bench: str, ours: Any, baseline: Any,
            baseline_name: str | None, tail: str = "p99", note: str = "") -> dict[str, Any]:
    mine, theirs = _stats(ours), _stats(baseline)
    return {
        "area": area, "figure": name, "unit": unit, "bench": bench,
        "showctl": mine, "baseline_name": baseline_name, "baseline": theirs,
        "ratio_median": _ratio(_get(mine, "median"), _get(theirs, "median")),
        f"ratio_{tail}": _ratio(_get(mine, tail), _get(theirs, tail)),
        "tail": tail, "note": note,
    }


Extractor = Callable[[dict[str, Any]], list[dict[str, Any]]]


def _take(r: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _figure("Takes", "take latency: take -> OBS program changed", "ms", "take_latency",
                r.get("controller_to_event"), r.get("bare_to_event"),
                "bare obs-websocket client, SetCurrentProgramScene -> event",
                note=f"{r.get('takes')} takes, Cut, one private OBS"),
        _figure("Takes", "hard-start error (program changed - target)", "ms", "take_latency",
                r.get("hard_start_error"), None, None,
                note=f"|error| median {_num(r.get('hard_start_abs_median_ms'))}, p95 "
                     f"{_num(r.get('hard_start_abs_p95_ms'))} ms; one frame = "
                     f"{FRAME_MS:.1f} ms; lead {_num(r.get('measured_lead_ms'))} ms"),
    ]


def _mixer(r: dict[str, Any]) -> list[dict[str, Any]]:
    ours, theirs = r.get("showctl") or {}, r.get("ffmpeg") or {}
    fps = f"fps {_num(ours.get('fps'))} vs {_num(theirs.get('fps'))}"
    return [
        _figure("Mixer", "CPU per output frame", "ms", "mixer", ours.get("cpu_ms_per_frame"),
                theirs.get("cpu_ms_per_frame"), "ffmpeg scale+xstack+libx264, same job",
                tail="median", note=f"{r.get('seconds')} s, {fps}"),
        _figure("Mixer", "glass-to-glass latency: capture -> decoded", "ms", "mixer",
                ours.get("latency"), theirs.get("latency"), "ffmpeg, same job", tail="p95",
                note=f"stamped frames seen {_get(ours, 'latency', 'stamped_frames_seen')} vs "
                     f"{_get(theirs, 'latency', 'stamped_frames_seen')}"),
    ]


def _overlays(r: dict[str, Any]) -> list[dict[str, Any]]:
    cue, clock = r.get("cue_to_pixel") or {}, r.get("countdown_agreement") or {}
    return [
        _figure("Graphics", "cue-to-pixel: play request -> first frame drawn", "ms",
                "overlays", cue.get("api_to_first_frame"), cue.get("baseline_api_to_first_frame"),
                "bare aiohttp websocket -> bare page", tail="p95",
                note=f"Chromium {r.get('chromium')}; countdown pages: clock estimates "
                     f"{_num(clock.get('clock_estimate_difference_ms'))} ms apart, different "
                     f"second shown {clock.get('different_second_shown')}/"
                     f"{clock.get('same_moment_comparisons')}"),
    ]


def _fanout(r: dict[str, Any]) -> list[dict[str, Any]]:
    lag = r.get("loop_lag") or {}
    ctl_lag = lag.get("controller_during_fanout")
    return [
        _figure("Consoles", f"state fan-out: take -> last of {r.get('clients')} clients", "ms",
                "fanout", r.get("controller_take_to_last_client"),
                r.get("baseline_broadcast_to_last_client"),
                "bare aiohttp broadcast of the same read model",
                note=f"{r.get('takes')} takes, clients over {r.get('processes')} processes; "
                     f"read model {r.get('read_model_bytes')} B, message median "
                     f"{_num(r.get('controller_message_bytes_median'), 0)} B"),
        _figure("Event loop", "loop lag during fan-out (10 ms sleep overshoot)", "ms", "fanout",
                ctl_lag, lag.get("bare_idle_loop_same_window"),
                "same probe, bare idle loop, same window",
                note=f"wake-ups over 50 ms: {_get(ctl_lag, 'over_50ms')}"),
        _figure("Event loop", "loop lag: controller vs a bare broadcast server", "ms", "fanout",
                ctl_lag, lag.get("bare_broadcast_server_during_baseline"),
                "same probe in the bare aiohttp broadcast server, its own fan-out"),
    ]


def _prompter(r: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _figure("Hosts' screens", "prompter scroll: operator -> another prompter screen", "ms",
                "prompter_scroll", r.get("showctl"), r.get("bare_aiohttp_relay"),
                "bare aiohttp websocket relay", note=f"{r.get('positions')} positions, "
                f"{r.get('screens')} screen(s), delivered {_num(r.get('delivered'))}"),
    ]


EXTRACTORS: dict[str, Extractor] = {"take_latency": _take, "mixer": _mixer,
                                    "overlays": _overlays, "fanout": _fanout,
                                    "prompter_scroll": _prompter}


def _goals(results: dict[str, dict[str, Any]]) -> dict[str, bool | None]:
    def res(name: str) -> dict[str, Any]:
        return results.get(name, {}).get("result") or {}

    take, fan, scroll = res("take_latency"), res("fanout"), res("prompter_scroll")
    scroll_p99 = _get(scroll, "showctl", "p99_ms")
    hard = take.get("hard_start_abs_p95_ms")
    lag_max = _get(fan, "loop_lag", "controller_during_fanout", "max_ms")
    fan_p99 = _get(fan, "controller_take_to_last_client", "p99_ms")
    goals: dict[str, bool | None] = {
        "hard start within one frame (|error| p95)": None if hard is None else hard <= FRAME_MS,
        "fan-out p99 <= 50 ms": None if fan_p99 is None else fan_p99 <= 50,
        "no event-loop stall over 50 ms": None if lag_max is None else lag_max <= 50,
        "prompter scroll p99 within one frame": (None if scroll_p99 is None
                                                 else scroll_p99 <= FRAME_MS),
    }
    for name, ok in (res("mixer").get("goals") or {}).items():
        goals[f"mixer: {name.replace('_', ' ')}"] = ok
    return goals


def compose(results: dict[str, dict[str, Any]], info: dict[str, Any], *,
            setting: str) -> dict[str, Any]:
    """The report (JSON-able): machine, figures with their baselines, goals, raw results."""
    figures: list[dict[str, Any]] = []
    for name, entry in results.items():
        if entry.get("status") == "ok" and name in EXTRACTORS:
            figures += EXTRACTORS[name](entry["result"])
    return {
        "schema": SCHEMA,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "setting": setting,
        "machine": info,
        "figures": figures,
        "goals": _goals(results),
        "benchmarks": results,
    }


# --- rendering --------------------------------------------------------------------------------

def _num(value: Any, digits: int = 2) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int | float):
        return f"{value:.{digits}f}"
    return str(value)


def _cell(stats: dict[str, Any] | None) -> str:
    if not stats:
        return "—"
    head = f"**{_num(stats['median'])}**"
    spread = [f"{k} {_num(stats[k])}" for k in ("p95", "p99") if k in stats]
    if "min" in stats and "max" in stats:
        spread.append(f"{_num(stats['min'])}–{_num(stats['max'])}")
    if "n" in stats:
        spread.append(f"n {stats['n']}")
    return head + (f" ({', '.join(spread)})" if spread else "")


def _ratio_cell(figure: dict[str, Any]) -> str:
    med, tail = figure.get("ratio_median"), figure.get(f"ratio_{figure['tail']}")
    if med is None:
        return "—"
    text = f"{med:.2f}×"
    if figure["tail"] != "median" and tail is not None:
        text += f" ({figure['tail']} {tail:.2f}×)"
    return text


def _gib(n: Any) -> str:
    return "—" if not isinstance(n, int) else f"{n / 2**30:.1f} GiB"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as markdown: figures table, goals, machine, each benchmark's run."""
    m = report["machine"]
    lines = [f"# showctl benchmark report ({report['setting']})", "",
             f"{report['when']} · {m.get('cpu_model')} · {m.get('cores')} cores · "
             f"{_gib(m.get('memory_bytes'))} · load {m.get('load_average_start')} → "
             f"{m.get('load_average_end')}", "",
             "Medians in bold; spread as p95, p99, min–max, n. Each baseline ran in the same "
             "run, on the same machine. Ratio = showctl / baseline (lower is better).", "",
             "| Area | Figure | showctl | Baseline | Ratio |", "|---|---|---|---|---|"]
    for f in report["figures"]:
        base = f"{f['baseline_name']}: {_cell(f['baseline'])}" if f["baseline_name"] else "—"
        lines.append(f"| {f['area']} | {f['figure']} ({f['unit']}) | {_cell(f['showctl'])} | "
                     f"{base} | {_ratio_cell(f)} |")
    notes = [f"- {f['figure']}: {f['note']}" for f in report["figures"] if f.get("note")]
    if notes:
        lines += ["", "Notes:", "", *notes]
    lines += ["", "## Goals", ""]
    for goal, ok in report["goals"].items():
        mark = {True: "met", False: "NOT met", None: "not measured"}[ok]
        lines.append(f"- {goal}: {mark}")
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    for key, label in (("cpu_model", "CPU"), ("cores", "cores"), ("memory_bytes", "memory"),
                       ("load_average_start", "load average at start (1, 5, 15 min)"),
                       ("load_average_end", "load average at end"), ("kernel", "kernel"),
                       ("platform", "platform"), ("python", "Python"), ("obs", "OBS"),
                       ("chromium", "Chromium"), ("ffmpeg", "ffmpeg")):
        value = _gib(m.get(key)) if key == "memory_bytes" else m.get(key)
        lines.append(f"| {label} | {'—' if value is None else value} |")
    lines += ["", "## Runs", "", "| Benchmark | Status | Parameters | Seconds |",
              "|---|---|---|---|"]
    for name, entry in report["benchmarks"].items():
        status = entry.get("status", "?")
        if status != "ok":
            status += f": {entry.get('error', '')}".replace("|", "/")
        params = ", ".join(f"{k}={v}" for k, v in (entry.get("params") or {}).items())
        lines.append(f"| {name} | {status} | {params or '—'} | "
                     f"{_num(entry.get('seconds'), 1)} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "report.md", out / "report.json"
    js.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    md.write_text(render_markdown(report), "utf-8")
    return md, js


# --- the command ------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small counts: a check of the pipeline, not figures to quote")
    parser.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(NAMES)}")
    parser.add_argument("--out", type=Path, help="where report.md and report.json go "
                        "(default bench/results, or bench/results/quick with --quick)")
    parser.add_argument("--from-results", type=Path, metavar="DIR",
                        help="compose from DIR/NAME.json files instead of running")
    return parser


def write_results(results: dict[str, dict[str, Any]], out: Path) -> None:
    """Each benchmark's figures as OUT/NAME.json, as a standalone run writes them (so
    `--from-results OUT` composes the same report again)."""
    for name, entry in results.items():
        if entry["status"] == "ok":
            path = out / f"{name}.json"
            path.write_text(json.dumps(entry["result"], indent=2) + "\n", "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = args.only or list(NAMES)
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    # before minutes of benchmarks, not after: bench/results/ is ignored by git, so a fresh
    # clone has no such folder
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    if args.from_results:
        results, setting = from_results(args.from_results, names), "composed"
    else:
        results = run_all(names, args.quick)
        setting = "quick" if args.quick else "full"
        write_results(results, out)
    info["load_average_end"] = load_average()
    report = compose(results, info, setting=setting)
    md, js = write_report(report, out)
    print(render_markdown(report), end="")
    print(f"\nbench: wrote {md.relative_to(ROOT) if md.is_relative_to(ROOT) else md} and "
          f"{js.name}", file=sys.stderr)
    return 0 if all(e.get("status") == "ok" for e in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
