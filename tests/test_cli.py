"""`showctl` as a director runs it: exit codes, stderr format, JSON shapes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from rundowns import REHEARSAL, ROOT, SAMPLE


def showctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "control.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_validate_the_shipped_rundowns():
    out = showctl("validate", str(SAMPLE), str(REHEARSAL))
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "ok, 16 segments" in out.stdout


def test_validate_reports_every_error_as_file_line_col(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    text = (SAMPLE.read_text("utf-8")
            .replace("    scene: Studio Wide\n    transition: cut\n",
                     "    scen: Studio Wide\n    transition: cut\n", 1)
            .replace("duration: 8m\n", "duration: 8\n", 1)
            .replace("guests: [gou-lijun]", "guests: [gou-li-jun]"))
    bad.write_text(text, "utf-8")

    def at(needle: str) -> int:  # where the broken key is, however the sample grows
        return text[:text.index(needle)].count("\n") + 1

    out = showctl("validate", str(bad))
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if ": error: " in line]
    assert lines == [
        f"{bad}:{at('- id: opening')}:5: error: segment 'opening': missing 'scene'",
        f"{bad}:{at('scen: Studio Wide')}:5: error: segment 'opening': unknown key 'scen' "
        "(did you mean 'scene'?)",
        f"{bad}:{at('duration: 8' + chr(10))}:15: error: segment 'partners' duration: "
        "cannot read duration '8': write e.g. 90s, 1m30s, 500ms, 1h or 00:01:30",
        f"{bad}:{at('guests: [gou-li-jun]')}:14: error: segment 'midnight-sky': guest "
        "'gou-li-jun' is not in guests (did you mean 'gou-lijun'?)",
    ]


def test_validate_warnings_keep_exit_zero(tmp_path: Path):
    text = SAMPLE.read_text("utf-8").replace("    title: New year wishes\n",
                                             "    title: New year wishes\n", 1)
    text = text.replace("    duration: 5m50s\n", "    duration: 7m50s\n", 1)  # needs 2m of flex
    f = tmp_path / "flex.yaml"
    f.write_text(text, "utf-8")
    out = showctl("validate", str(f))
    assert out.returncode == 0
    assert ": warning: hard start 'countdown' at 23:59:50 is reached only by flex: 2m" in out.stderr


def test_validate_unreadable_file(tmp_path: Path):
    out = showctl("validate", str(tmp_path / "missing.yaml"))
    assert out.returncode == 1
    assert out.stderr.startswith(f"{tmp_path / 'missing.yaml'}:1:1: error: cannot read:")


def test_plan_table():
    out = showctl("plan", str(SAMPLE))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "segment" in lines[1] and "slack" in lines[1]
    weather = next(line for line in lines if " weather " in line)
    assert "22:12:00" in weather and "6m" in weather and "4m..8m" in weather
    countdown = next(line for line in lines if " countdown " in line)
    assert "23:59:50" in countdown and "on time" in countdown
    assert lines[-1] == "planned end 00:30:00, hard out 00:30:00"


def test_plan_shows_the_fill_before_a_hard_start(tmp_path: Path):
    f = tmp_path / "gap.yaml"
    text = REHEARSAL.read_text("utf-8").replace("duration: 50s", "duration: 20s")
    text = text.replace("    flex: 2m..4m\n", "").replace("    flex: 1m..3m\n", "")
    f.write_text(text, "utf-8")
    out = showctl("plan", str(f))
    lead_in = next(line for line in out.stdout.splitlines() if " lead-in " in line)
    assert "20s +30s fill" in lead_in


def _json(*args: str) -> dict:
    out = showctl(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_simulate_json_shape_and_the_midnight_hard_start():
    rep = _json("simulate", str(SAMPLE), "--overrun", "weather=2m")
    assert set(rep) >= {"segments", "hard_starts", "planned_end", "end", "over_under_s"}
    assert set(rep["segments"][0]) >= {"id", "planned_start", "start", "end",
                                       "planned_duration_s", "duration_s", "over_under_s",
                                       "skipped"}
    [h] = rep["hard_starts"]
    assert h == {"id": "countdown", "target": "2023-12-31T23:59:50+08:00",
                 "start": "2023-12-31T23:59:50+08:00", "error_s": 0.0, "shortfall_s": 0.0}


def test_simulate_overrun_beyond_flex_and_underrun():
    rep = _json("simulate", str(SAMPLE), "--overrun", "weather=16m", "--underrun", "opening=0s")
    assert rep["hard_starts"][0]["start"] == "2023-12-31T23:59:50+08:00"
    assert rep["hard_starts"][0]["shortfall_s"] == 300.0  # 16m - 11m of flex after weather
    rep = _json("simulate", str(SAMPLE), "--underrun", "partners=1m")
    segs = {s["id"]: s for s in rep["segments"]}
    assert segs["partners"]["duration_s"] == 420 and segs["weather"]["start"].endswith("22:11:00+08:00")


def test_simulate_text_report():
    out = showctl("simulate", str(REHEARSAL))
    assert out.returncode == 0
    assert "hard start countdown: target 23:59:50, started 23:59:50, error 0s, shortfall 0s" \
        in out.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--overrun", "weather"], "expected ID=DURATION"),
    (["--overrun", "weather=lots"], "cannot read duration 'lots'"),
    (["--overrun", "nope=1m"], "no segment nope"),
])
def test_simulate_bad_arguments(args, message):
    out = showctl("simulate", str(SAMPLE), *args)
    assert out.returncode != 0 and message in out.stderr


class _AllText(yaml.SafeLoader):
    """YAML as an editor's language server sees it (YAML 1.2 core: times stay text)."""


# a dict of its own: the inherited one is SafeLoader's, and editing it in place took the
# merge key (`<<`), booleans and numbers from every SafeLoader in the test process
_AllText.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def test_schema_is_valid_and_accepts_the_shipped_rundowns():
    schema = json.loads(showctl("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in (SAMPLE, REHEARSAL):
        doc = yaml.load(path.read_text("utf-8"), Loader=_AllText)
        jsonschema.validate(doc, schema)
    bad = yaml.load("show: {title: T}\nsegments: [{id: A, scen: x}]\n", Loader=_AllText)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_the_committed_schema_file_is_current():
    committed = json.loads((ROOT / "config" / "rundown.schema.json").read_text("utf-8"))
    assert committed == json.loads(showctl("schema").stdout), \
        "run: showctl schema > config/rundown.schema.json"


def test_validate_checks_cue_data_against_the_graphics_templates(tmp_path: Path):
    text = SAMPLE.read_text("utf-8").replace(
        "        overlay: logo-bug\n", "        overlay: logo-bugg\n", 1).replace(
        "data: {name: Gou Lijun,", "data: {name: [Gou, Lijun],", 1)
    f = tmp_path / "cues.yaml"
    f.write_text(text, "utf-8")
    out = showctl("validate", str(f))
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 2, out.stderr
    assert "segment 'opening': cue logo-bugg: " in errors[0] and "logo-bug" in errors[0]
    assert "segment 'midnight-sky': cue lower-third: " in errors[1] and "name" in errors[1]
    assert all(line.startswith(f"{f}:") for line in errors)


def test_help_speaks_to_users():
    out = showctl("--help")
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "Run a live show from a YAML rundown" in text
    assert "Thin" not in text  # the module docstring is for developers, not the help
    for command in ("validate", "plan", "simulate", "run", "demo", "preflight", "invite"):
        assert command in text
