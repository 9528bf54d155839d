"""`showctl`: the command line. Each command reads its files, calls the core (or starts
the controller) and prints; `DESCRIPTION` is what `showctl --help` tells users."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from .config import ConfigError, Settings, load_settings
from .runner import MAX_SPEED
from .show.diagnostics import Diagnostic, RundownError
from .show.durations import DurationError, format_duration, parse_duration
from .show.fields import json_schema
from .show.loader import Loaded
from .show.localtime import LocalTimeError, clock_text, zone
from .show.plan import static_plan
from .show.simulate import simulate
from .wiring.rundown import read_rundown_file

DEFAULT_CONFIG = Path("config/show.yaml")
DESCRIPTION = ("Run a live show from a YAML rundown: check it, plan it to the second, "
               "simulate it, then run it live (OBS Studio, the director's console, "
               "guests, graphics, metrics).")
EPILOG = ("Start with `showctl validate RUNDOWN`, then `plan` and `simulate`; `showctl COMMAND "
          "--help` for each command. The rundown format: docs/rundown-format.md; the API: "
          "docs/api.md.")
SPEED_HELP = ("rehearsal only, with --start: compressed time, the show clock runs N times "
              "faster than the wall clock (hard starts, auto-advances and countdowns with it)")


def read_rundown(path: str) -> Loaded:
    """Load a rundown file through the one reader the controller uses too (startup and
    `POST /api/reload`): cue data checked against the graphics templates' schemas."""
    return read_rundown_file(path)[1]


def _report(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        print(d, file=sys.stderr)


def _load_or_exit(path: str) -> Loaded:
    try:
        loaded = read_rundown(path)
    except RundownError as exc:
        _report(exc.diagnostics)
        raise SystemExit(1) from None
    _report(loaded.warnings)
    return loaded


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            loaded = read_rundown(path)
        except RundownError as exc:
            _report(exc.diagnostics)
            print(f"{path}: {len(exc.errors)} error(s)", file=sys.stderr)
            status = 1
            continue
        _report(loaded.warnings)
        n = len(loaded.rundown.segments)
        print(f"{path}: ok, {n} segments, {len(loaded.warnings)} warning(s)")
    return status


def _table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    rundown = _load_or_exit(args.file).rundown
    tz = zone(rundown.show.timezone)
    plan = static_plan(rundown)
    hard = {h.segment_id: h for h in plan.hard_starts}
    if args.json:
        print(json.dumps({
            "segments": [{"id": s.segment_id, "start_ms": s.start_ms,
                          "duration_ms": s.duration_ms} for s in plan.slots],
            "hard_starts": [{"id": h.segment_id, "target_ms": h.target_ms,
                             "slack_ms": h.slack_ms, "shortfall_ms": h.shortfall_ms}
                            for h in plan.hard_starts],
        }, indent=2))
        return 0
    fills = {}  # the segment before a hard start stays on air until it: show that
    ids = [s.segment_id for s in plan.slots]
    for h in plan.hard_starts:
        if h.shortfall_ms < 0 and ids.index(h.segment_id) > 0:
            fills[ids[ids.index(h.segment_id) - 1]] = -h.shortfall_ms
    rows = [["#", "segment", "start", "duration", "flex", "then", "hard start", "slack"]]
    for i, seg in enumerate(rundown.segments, 1):
        slot = plan.slot(seg.id)
        h = hard.get(seg.id)
        duration = format_duration(slot.duration_ms) if slot else ""
        if seg.id in fills:
            duration += f" +{format_duration(fills[seg.id])} fill"
        rows.append([
            str(i), seg.id,
            clock_text(slot.start_ms, tz) if slot else "",
            duration,
            f"{format_duration(seg.min_ms)}..{format_duration(seg.max_ms)}" if seg.flex else "",
            seg.then,
            clock_text(seg.at_ms, tz) if seg.at_ms is not None else "",
            _slack(h.slack_ms, h.min_arrival_ms - h.target_ms) if h else "",
        ])
    print(f"{rundown.show.title}  ({rundown.show.timezone})")
    print(_table(rows, right={0, 3}))
    if plan.end_ms is not None:
        print(f"planned end {clock_text(plan.end_ms, tz)}"
              + (f", hard out {clock_text(rundown.show.end_ms, tz)}"
                 if rundown.show.end_ms is not None else ""))
    return 0


def _slack(slack_ms: int, min_late_ms: int) -> str:
    """Slack before a hard start: spare time as written, and how much flex could still give."""
    text = "on time" if slack_ms == 0 else (
        f"+{format_duration(slack_ms)} fill" if slack_ms > 0 else
        f"{format_duration(slack_ms)} (flex)")
    return f"{text}, flex can absorb {format_duration(max(0, -min_late_ms))} more"


def _overruns(pairs: list[str], sign: int, out: dict[str, int]) -> None:
    for pair in pairs:
        sid, sep, text = pair.partition("=")
        if not sep:
            raise SystemExit(f"showctl: expected ID=DURATION, got {pair!r}")
        try:
            out[sid.strip()] = out.get(sid.strip(), 0) + sign * parse_duration(text)
        except DurationError as exc:
            raise SystemExit(f"showctl: {pair}: {exc}") from None


def cmd_simulate(args: argparse.Namespace) -> int:
    rundown = _load_or_exit(args.file).rundown
    over: dict[str, int] = {}
    _overruns(args.overrun, 1, over)
    _overruns(args.underrun, -1, over)
    try:
        result = simulate(rundown, over)
    except KeyError as exc:
        raise SystemExit(f"showctl: no segment {exc.args[0]} in {args.file}") from None
    rep = result.report
    if args.json:
        print(json.dumps(rep, indent=2, ensure_ascii=False))
        return 0
    rows = [["segment", "planned", "start", "end", "planned dur", "duration", "over/under"]]
    for s in rep["segments"]:
        rows.append([
            s["id"], _hms(s["planned_start"]), _hms(s["start"]) or "skipped", _hms(s["end"]),
            _dur(s["planned_duration_s"]), _dur(s["duration_s"]),
            _dur(s["over_under_s"], signed=True),
        ])
    print(f"{rep['title']}: simulated as-run ({rep['timezone']})")
    print(_table(rows, right={4, 5, 6}))
    for h in rep["hard_starts"]:
        print(f"hard start {h['id']}: target {_hms(h['target'])}, started {_hms(h['start'])}, "
              f"error {_dur(h['error_s'], signed=True)}, shortfall "
              f"{_dur(h['shortfall_s'], signed=True)}")
    print(f"planned end {_hms(rep['planned_end'])}, end {_hms(rep['end'])}, "
          f"over/under {_dur(rep['over_under_s'], signed=True)}")
    return 0


def _hms(iso_text: str | None) -> str:
    """Local time of day from an ISO timestamp, with milliseconds only when there are any."""
    if iso_text is None:
        return ""
    t = datetime.fromisoformat(iso_text)
    return t.strftime("%H:%M:%S") + (f".{t.microsecond // 1000:03d}" if t.microsecond else "")


def _dur(s: float | None, signed: bool = False) -> str:
    if s is None:
        return ""
    text = format_duration(round(s * 1000))
    return f"+{text}" if signed and s > 0 else text


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    path = Path(args.config) if args.config else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists()
                                                  else None)
    try:
        return load_settings(path)
    except ConfigError as exc:
        raise SystemExit(f"showctl: {exc}") from None


async def _serve(rundown: Path, settings: Settings, start: str | None, fresh: bool,
                 terminal: bool, speed: float = 1.0) -> None:
    # (here, not at the top: `showctl validate` must not load the media stack)
    from .overlays import base_url
    from .terminal import run_terminal, signed_span
    from .wiring.listeners import public_base_url, scheme
    from .wiring.live import run_show

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with run_show(rundown, settings, start=start, fresh=fresh, speed=speed,
                        stop=stop) as show:
        # what startup built lives for the whole show: out of the collector's way, a full
        # collection no longer walks it (it was a fan-out's longest stall, bench/fanout.py)
        gc.freeze()
        shift = show.runner.state.rundown.shift_ms
        console = base_url(settings.http_host, settings.http_port, scheme=scheme(settings))
        print(f"showctl: {rundown} on {console}/api/ (OBS {settings.obs_url})"
              + (f"; show clock shifted by {signed_span(shift / 1000)}" if shift else "")
              + (f"; COMPRESSED TIME: the show clock runs x{show.speed:g}"
                 if show.speed != 1 else ""), flush=True)
        door = public_base_url(replace(settings, guest_public_url=""))
        print(f"showctl: console {console}/ (log in with a token, or open /?token=TOKEN "
              "once)" + (f"; the guests' door {door}/guest/..." if settings.door_port else "")
              + (f"; OSC on {settings.osc_host}:{settings.osc_port}/udp"
                 if settings.osc_enabled else ""), flush=True)
        from .overlays import base_url
        screens = (base_url(settings.http_host, settings.http_port) + "/{page}"
                   + (f"?key={show.overlays.read_key}" if show.overlays.read_key else ""))
        print(f"showctl: hosts' screens {screens.format(page='presenter')} and "
              f"{screens.format(page='prompter')} (docs/stage.md)", flush=True)
        if terminal:
            await run_terminal(show.read_model, show.command, stop)
        else:
            await stop.wait()


def _speed(args: argparse.Namespace, settings: Settings, start: str | None) -> float:
    """`--speed N`: compressed time is for rehearsals only, and needs a moved start (the
    real show's times are wall-clock times: at N x they would be met N times too early)."""
    speed = args.speed
    if speed is None or speed == 1:
        return 1.0
    if not 1 <= speed <= MAX_SPEED:
        raise SystemExit(f"showctl: --speed must be between 1 and {MAX_SPEED:g}, not {speed:g}")
    if settings.mode != "rehearsal":
        raise SystemExit(f"showctl: --speed {speed:g} is for rehearsals only; the settings say "
                         f"mode {settings.mode}: the live show runs on the wall clock")
    if start is None:
        raise SystemExit(f"showctl: --speed {speed:g} needs --start (now, HH:MM or a date): "
                         "compressed time runs a moved rehearsal, never the show's own times")
    return float(speed)


def _logging(settings: Settings) -> None:
    """The controller's log (control/logs.py): a line per event with its time, to stderr
    and to `log.file` when set."""
    from .logs import configure_logging

    try:
        configure_logging(settings.log_file or None)
    except OSError as exc:
        raise SystemExit(f"showctl: log.file (SHOWCTL_LOG_FILE): cannot open "
                         f"{settings.log_file}: {exc.strerror or exc}") from None


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    speed = _speed(args, settings, args.start)
    _logging(settings)
    _load_or_exit(args.rundown)
    if not settings.director_token:
        raise SystemExit("showctl: no director token: set SHOWCTL_DIRECTOR_TOKEN (or "
                         "auth.director_token_file in the config); the API never runs open")
    from .web.tls import TlsError
    from .wiring.listeners import make_certificates
    from .wiring.standby import StandbyStopped

    try:
        make_certificates(settings)  # a pair that cannot serve: say so before the show opens
        asyncio.run(_serve(Path(args.rundown), settings, args.start, args.fresh,
                           not args.no_terminal, speed))
    except (LocalTimeError, TlsError) as exc:
        raise SystemExit(f"showctl: {exc}") from None
    except StandbyStopped:  # stopped while standing by: there was no show here to leave
        pass
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    """A guest's invite link (signed, bound to the guest, expiring), alone on the last line."""
    import time

    from .guests.bindings import STATE_FILE
    from .guests.bindings import load as load_bindings
    from .guests.invites import SECRET_ENV, invite_link, load_secret, make_token
    from .wiring.listeners import public_base_url

    settings = _settings(args)
    if args.rundown is not None:
        roster = {g.id for g in _load_or_exit(args.rundown).rundown.guests}
        if args.guest not in roster:
            raise SystemExit(f"showctl: invite: no guest {args.guest!r} in {args.rundown} "
                             f"(guests: {', '.join(sorted(roster)) or 'none'})")
    secret = load_secret(settings.state_dir, {SECRET_ENV: settings.guest_secret or ""})
    expires = int(time.time() + settings.guest_invite_ttl_ms / 1000)
    try:  # the guest's current generation: a link made after a revoke works
        generation = load_bindings(settings.state_dir / STATE_FILE).generation(args.guest)
    except ValueError as e:
        raise SystemExit(f"showctl: invite: {e}") from None
    token = make_token(secret, args.guest, expires, generation)
    print(f"showctl: invite for {args.guest}, valid until "
          f"{datetime.fromtimestamp(expires).astimezone().isoformat(timespec='minutes')}")
    print(invite_link(public_base_url(settings), args.guest, token))
    return 0


def cmd_preflight(args: argparse.Namespace) -> int:
    from .obs.client import ObsClient
    from .obs.preflight import feed_input_url, format_findings, preflight
    from .overlays import base_url, program_urls, read_key

    settings = _settings(args)
    rundown = _load_or_exit(args.rundown).rundown
    # the graphics' browser sources load the controller's overlay pages, with the read key
    # the controller derives from the same settings
    overlay_urls = program_urls(
        args.overlays_base or base_url(settings.http_host, settings.http_port),
        read_key(settings.director_token, settings.producer_token, settings.viewer_token))
    # the guests' program feed (the mixer's MPEG-TS) as OBS's "Program Feed" media source
    feed_url = (feed_input_url(settings.mixer_transport, settings.mixer_host,
                               settings.mixer_port, passphrase=settings.mixer_srt_passphrase,
                               latency_ms=settings.mixer_srt_latency_ms)
                if settings.mixer_enabled else None)

    async def check() -> list:
        async with ObsClient(settings.obs_url, settings.obs_password) as client:
            await client.wait_connected(args.timeout)
            return await preflight(client, rundown, provision=args.provision,
                                   overlay_urls=overlay_urls, feed_url=feed_url)

    try:
        findings = asyncio.run(check())
    except Exception as exc:  # OBS down, wrong password: say so plainly
        raise SystemExit(f"showctl: preflight: cannot reach OBS at {settings.obs_url}: "
                         f"{exc}") from None
    print(format_findings(findings, source=args.rundown))
    return 1 if any(f.severity == "error" for f in findings) else 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A private headless OBS with the rundown's scenes, and the controller on it, over
    HTTPS with a certificate of a CA the demo makes (unless the settings name one, or
    --no-tls)."""
    import secrets
    import tempfile

    from .obs.launcher import ObsLauncher, ObsLaunchError, scenes_for

    rundown = _load_or_exit(args.rundown).rundown
    settings = _settings(args)
    speed = _speed(args, settings, "now")
    _logging(settings)
    root = Path(tempfile.mkdtemp(prefix="showctl-demo-"))
    token = settings.director_token or secrets.token_urlsafe(32)
    settings = replace(settings, director_token=token, state_dir=root / "state")
    ca = None
    if not args.no_tls and settings.tls_cert_file is None:
        settings, ca = _demo_certificates(settings, root / "tls")
    try:
        obs = ObsLauncher(root / "obs", scenes=scenes_for(rundown)).start()
    except ObsLaunchError as exc:
        raise SystemExit(f"showctl demo: {exc}") from None
    settings = replace(settings, obs_url=obs.url, obs_password=obs.password)
    _demo_banner(settings, obs.url, str(obs.home), [g.id for g in rundown.guests], ca)
    from .web.tls import TlsError

    try:
        asyncio.run(_serve(Path(args.rundown), settings, "now", True, not args.no_terminal,
                           speed))
    except TlsError as exc:
        raise SystemExit(f"showctl demo: {exc}") from None
    finally:
        obs.close()
    return 0


def _demo_certificates(settings: Settings, folder: Path) -> tuple[Settings, Path]:
    """A CA of the demo's own and a certificate it signs for this machine's names, so the
    whole HTTPS path (Secure cookies, HSTS, the guests' camera) runs locally."""
    from .overlays.urls import WILDCARD_HOSTS
    from .web.certs import write_demo_certificates

    names = ["127.0.0.1", "localhost", "::1"]
    for host in (settings.http_host, settings.door_host):
        if host.strip() not in WILDCARD_HOSTS and host.strip("[]") not in names:
            names.append(host.strip("[]"))
    files = write_demo_certificates(folder, names)
    print(f"showctl demo: HTTPS with a certificate of the demo's own CA, {files.ca} "
          f"(trust it in a browser, or Chromium: --ignore-certificate-errors-spki-list="
          f"{files.spki}; curl: --cacert {files.ca})", flush=True)
    return replace(settings, tls_cert_file=files.cert, tls_key_file=files.key), files.ca


def _demo_banner(settings: Settings, obs_url: str, obs_home: str, guests: list[str],
                 ca: Path | None) -> None:
    import time

    from .guests.bindings import STATE_FILE
    from .guests.bindings import load as load_bindings
    from .guests.invites import SECRET_ENV, invite_link, load_secret, make_token
    from .overlays import base_url
    from .wiring.listeners import public_base_url, scheme

    console = base_url(settings.http_host, settings.http_port, scheme=scheme(settings))
    cacert = f"--cacert {ca} " if ca is not None else ""
    token = settings.director_token
    print(f"showctl demo: OBS {obs_url} (home {obs_home}); director token: {token}\n"
          f"  API: curl {cacert}-H 'Authorization: Bearer {token}' {console}/api/state\n"
          f"  console: {console}/?token={token}", flush=True)
    if guests:
        secret = load_secret(settings.state_dir, {SECRET_ENV: settings.guest_secret or ""})
        expires = int(time.time() + settings.guest_invite_ttl_ms / 1000)
        try:
            generation = load_bindings(settings.state_dir / STATE_FILE).generation(guests[0])
        except ValueError:  # a damaged file: the controller stops and names it
            generation = 0
        link = invite_link(public_base_url(settings), guests[0],
                           make_token(secret, guests[0], expires, generation))
        print(f"  guest {guests[0]}: {link}", flush=True)


def cmd_asrun(args: argparse.Namespace) -> int:
    from .asrun import asrun_rows, iso_links, write_csv
    from .journal import JournalError, read_journal, replay

    try:
        state = replay(read_journal(Path(args.journal))).state
    except (OSError, JournalError) as exc:
        raise SystemExit(f"showctl: {args.journal}: {exc}") from None
    rows = asrun_rows(state, iso_links(Path(args.iso or Path(args.journal).parent / "iso")))
    if args.csv:
        write_csv(rows, sys.stdout)
        return 0
    keys = list(rows[0]) if rows else []
    print(_table([keys, *[[str(r[k] if r[k] is not None else "") for k in keys] for r in rows]],
                 right=set()))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """`make bench` by another name: bench/report.py of the source tree, in its own process."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    if not (root / "bench" / "report.py").exists():
        raise SystemExit("showctl bench: the benchmarks live in the source tree (bench/); "
                         "run it from a checkout")
    argv = [sys.executable, "-m", "bench"] + (["--quick"] if args.quick else [])
    for name in args.only or []:
        argv += ["--only", name]
    if args.out:
        argv += ["--out", args.out]
    return subprocess.call(argv, cwd=root)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="showctl", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check rundown files; errors as FILE:LINE:COL")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("plan", help="the planned timeline as a table")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("simulate", help="run the show in virtual time; print the as-run")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--overrun", action="append", default=[], metavar="ID=DURATION",
                   help="that segment stays on air DURATION longer than asked")
    p.add_argument("--underrun", action="append", default=[], metavar="ID=DURATION",
                   help="the director takes the next segment DURATION before the planned "
                   "end (never into an armed hard start: that segment fills until its time)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser("schema", help="print the rundown's JSON Schema (for editors)")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("run", help="run the show: OBS link, API, journal, terminal")
    p.add_argument("rundown", metavar="RUNDOWN")
    p.add_argument("--config", help=f"settings file (default {DEFAULT_CONFIG} if present)")
    p.add_argument("--start", metavar="now|HH:MM[:SS]|DATETIME",
                   help="rehearsal: move the whole rundown so it starts then")
    p.add_argument("--fresh", action="store_true",
                   help="start the show again (the old journal is kept, renamed)")
    p.add_argument("--no-terminal", action="store_true", help="no status line or keys")
    p.add_argument("--speed", type=float, metavar="N", help=SPEED_HELP)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("demo", help="run a rundown against a private headless OBS")
    p.add_argument("rundown", metavar="RUNDOWN", nargs="?", default="rundown/rehearsal.yaml")
    p.add_argument("--config", help=f"settings file (default {DEFAULT_CONFIG} if present)")
    p.add_argument("--no-terminal", action="store_true", help="no status line or keys")
    p.add_argument("--no-tls", action="store_true",
                   help="plain HTTP (by default the demo makes a CA and a certificate of its "
                        "own and serves HTTPS)")
    p.add_argument("--speed", type=float, metavar="N", help=SPEED_HELP)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("preflight", help="check that OBS has every scene and item")
    p.add_argument("rundown", metavar="RUNDOWN")
    p.add_argument("--config", help=f"settings file (default {DEFAULT_CONFIG} if present)")
    p.add_argument("--provision", action="store_true", help="create what is missing")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for OBS")
    p.add_argument("--overlays-base", metavar="URL",
                   help="the controller as OBS reaches it, for the graphics' browser sources "
                        "(default http://HTTP_HOST:HTTP_PORT of the settings)")
    p.set_defaults(func=cmd_preflight)
    p = sub.add_parser("invite", help="print a guest's invite link (signed, expiring)")
    p.add_argument("guest", metavar="GUEST")
    p.add_argument("rundown", metavar="RUNDOWN", nargs="?",
                   help="check that GUEST is in this rundown's roster")
    p.add_argument("--config", help=f"settings file (default {DEFAULT_CONFIG} if present)")
    p.set_defaults(func=cmd_invite)
    p = sub.add_parser("asrun", help="the planned-vs-actual report of a journal")
    p.add_argument("journal", metavar="JOURNAL")
    p.add_argument("--csv", action="store_true")
    p.add_argument("--iso", metavar="DIR", help="the guests' recordings (default: iso/ beside "
                   "the journal)")
    p.set_defaults(func=cmd_asrun)
    p = sub.add_parser("bench", help="run every benchmark into one report (from a source checkout)")
    p.add_argument("--quick", action="store_true", help="small counts: a pipeline check")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="take_latency, fanout, mixer or overlays (repeatable)")
    p.add_argument("--out", metavar="DIR", help="where report.md and report.json go")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
