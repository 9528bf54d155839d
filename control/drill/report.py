"""The drill's report: the as-run checked against the journal, the verdicts, and the same
report as JSON (drill.json, for machines) and markdown (drill.md, for people)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..journal import read_journal, replay
from .faults.guest_kill import REJOIN_GOAL_S
from .readmodel import ReadModel, journal_events
from .result import FaultResult, Verdict


def asrun_check(journal_path: Path, console_takes: set[tuple[str, int]], final_segment: str,
                last: ReadModel) -> dict[str, Any]:
    """The journal against what the console showed and what the controller said last:
    nothing missing, nothing twice, every segment up to the final hard start accounted for,
    and the journal alone rebuilding the controller's state."""
    lines = journal_path.read_text("utf-8").splitlines()
    events = journal_events([json.loads(line) for line in lines if line])
    keys = [(e["kind"], e["segment_id"], e["at_ms"], e.get("source"), e.get("detail"))
            for e in events]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    takes = [(e["segment_id"], e["at_ms"]) for e in events if e["kind"] == "take"]
    retaken = sorted({s for s, _ in takes if sum(1 for x, _ in takes if x == s) > 1})
    missing = sorted(f"{s}@{ms}" for s, ms in console_takes if (s, ms) not in takes)
    replayed = replay(read_journal(journal_path))
    state = replayed.state
    ids = [s.id for s in state.rundown.segments]
    accounted = [e.segment_id for e in state.asrun]
    unaccounted = [s for s in ids[: ids.index(final_segment) + 1] if s not in accounted]
    return {
        "entries": len(state.asrun), "takes": len(takes),
        "duplicated": duplicates, "taken_twice": retaken,
        "seen_on_air_but_not_journaled": missing, "segments_unaccounted": unaccounted,
        "replay_warnings": list(replayed.warnings),
        "replay_matches_controller": len(state.asrun) == len(last["asrun"]) and (
            state.on_air == (last["on_air"] or {}).get("id")),
        "every_entry_present": not missing and not unaccounted,
        "none_duplicated": not duplicates and not retaken,
    }


def verdicts(results: list[FaultResult], final: dict[str, Any],
             asrun: dict[str, Any]) -> dict[str, bool]:
    return {
        **{f"fault {r.name}": r.ok for r in results},
        "final hard start within one frame": final["within_one_frame"],
        "final hard start journaled at its target": final["journal_take_at_target"],
        "every as-run entry present": asrun["every_entry_present"],
        "no as-run entry duplicated": asrun["none_duplicated"],
        "the journal replays to the controller's state": asrun["replay_matches_controller"],
    }


def write_report(out: Path, report: dict[str, Any]) -> None:
    (out / "drill.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out / "drill.md").write_text(markdown(report), "utf-8")


def build_report(*, rundown: Path, speed: float, fps: float, wall_s: float, show_s: float,
                 results: list[FaultResult], final: dict[str, Any],
                 asrun: dict[str, Any]) -> dict[str, Any]:
    """The report as drill.json has it."""
    judged = verdicts(results, final, asrun)
    return {
        "rundown": str(rundown), "speed": speed, "fps": fps,
        "wall_s": round(wall_s, 1), "show_s": round(show_s, 1),
        "faults": [{**asdict(r), "ok": r.ok} for r in results],
        "final_hard_start": final, "asrun": asrun, "verdicts": judged,
        "ok": all(judged.values()),
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
    }


def markdown(report: dict[str, Any]) -> str:
    """The report for people: each fault, when, how long until recovered, the verdicts."""
    lines = [f"# Show-day drill: {report['rundown']} at x{report['speed']:g}", "",
             f"{report['show_s']:.0f} s of show up to the final hard start, "
             f"{report['wall_s']:.0f} s of wall time; load {report['machine']['load'][0]:.1f} "
             f"on {report['machine']['cpus']} CPUs. **{Verdict.of(report['ok'])}**",
             "", "| fault | show time | wall time | recovered in | checks |",
             "|---|---|---|---|---|"]
    for f in report["faults"]:
        checks = "; ".join(f"{'ok' if v else 'FAILED'}: {k}" for k, v in f["checks"].items())
        rec = "" if f["recovery_s"] is None else f"{f['recovery_s']:.2f} s"
        lines.append(f"| {f['name']} | +{f['show_s'] or 0:.0f} s | {f['wall_s'] or 0:.1f} s "
                     f"| {rec} | {checks} |")
    lines += ["", _final_line(report), "", _asrun_line(report["asrun"]),
              *guest_lines(report["faults"]), "", "## Verdicts", ""]
    lines += [f"- {Verdict.of(ok)}: {name}" for name, ok in report["verdicts"].items()]
    return "\n".join(lines) + "\n"


def _final_line(report: dict[str, Any]) -> str:
    final = report["final_hard_start"]
    return (f"Final hard start `{final['segment']}` ({final['scene']}): OBS's program "
            f"changed {final['error_wall_ms']:+.1f} ms (wall) from its target "
            f"({final['error_show_ms']:+.0f} ms of show time at x{report['speed']:g}); "
            f"one frame is {final['frame_ms']:.0f} ms: "
            f"**{'within' if final['within_one_frame'] else 'NOT within'} one frame**; "
            f"journaled at its target: {final['journal_take_at_target']}.")


def _asrun_line(asrun: dict[str, Any]) -> str:
    return (f"As-run: {asrun['entries']} entries, {asrun['takes']} takes; "
            f"missing {asrun['seen_on_air_but_not_journaled'] or 'none'}, "
            f"unaccounted {asrun['segments_unaccounted'] or 'none'}, "
            f"duplicated {asrun['duplicated'] or 'none'}.")


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def guest_lines(faults: list[dict[str, Any]]) -> list[str]:
    """The guest faults' figures for the markdown report (empty without guest faults)."""
    lines = []
    for f in faults:
        d = f["detail"]
        if f["name"] == "guest-kill" and "processes_killed" in d:
            lines.append(
                f"- guest-kill ({d['guest']}, {d['processes_killed']} browser processes "
                f"SIGKILLed): the read model showed it disconnected after "
                f"{_s(d.get('disconnected_after_s'))}, OBS's Program Feed the slate in its box "
                f"after {_s(d.get('slate_in_obs_after_s'))}; a new browser with the same link "
                f"→ on air after {_s(d.get('rejoin_to_on_air_s'))} (of which the browser "
                f"starting {_s(d.get('new_browser_ready_s'))}; goal ≤ "
                f"{REJOIN_GOAL_S:g} s), its picture in OBS after "
                f"{_s(d.get('picture_in_obs_after_rejoin_s'))}")
        elif f["name"] == "guest-lossy" and "relay_dropped" in d:
            lines.append(
                f"- guest-lossy ({d['guest']}, {d['loss'] * 100:g} % of RTP/RTCP dropped, "
                f"0-{d['jitter_ms']:g} ms jitter, {d['window_s']:g} s): the relay dropped "
                f"{d['relay_dropped']} packets ({d['relay_dropped_pct']:g} %), "
                f"{d['relay_dropped_video']} of them the guest's video; the page reported the "
                f"loss after {_s(d.get('loss_reported_after_s'))} "
                f"({d.get('max_loss_pct_reported', 0):g} %, "
                f"{d.get('packets_lost_reported')} packets lost); while its segment was on air "
                f"the read model showed "
                f"{d['statuses_on_air']}"
                f"{' and its page made a new session' if d.get('rejoined_in_window') else ''}"
                f"{_paused(d.get('media_paused_s'))}; "
                f"the show clock ran {d['show_advanced_s']:g} s; "
                f"link stats clean again after {_s(d.get('clean_again_after_s'))}")
        elif f["name"].startswith("guest-") and d.get("error"):
            lines.append(f"- {f['name']}: {d['error']}")
    return ["", "## Guests", "", *lines] if lines else []


def _paused(pauses: list[float] | None) -> str:
    """The pauses in what the guest sent (its media really stopped), if any."""
    if not pauses:
        return ""
    return f" (its media paused at the relay: {', '.join(f'{p:g} s' for p in pauses)})"
