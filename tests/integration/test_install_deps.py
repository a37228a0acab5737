"""deploy/install-deps.sh (issue 24): `make test`, `make up` and `make screenshots` install the Debian
packages they need when missing, and say in one line what to run when they cannot.

The installed path runs for real on this machine. The missing paths run the real script with
SUPPORT_DEPS_ROOT pointing at an empty folder (so the packages' files are "missing") and PATH
holding stub OS commands (`id`, `apt-get`, `sudo`) that play a machine without root, without apt or
with a package apt cannot find — nothing is removed from the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "install-deps.sh"
BASH = shutil.which("bash") or "/bin/bash"
PACKAGES = "chromium nginx fonts-dejavu-core"


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


def _machine(tmp_path: Path, *, uid: int, apt: str | None, sudo: bool = False) -> dict[str, str]:
    """An environment for the script: stub commands only on PATH, an empty file system root."""
    bin_dir, root = tmp_path / "bin", tmp_path / "root"
    bin_dir.mkdir()
    root.mkdir()
    for tool in ("env", "rm", "mkdir", "touch", "chmod"):  # real tools the stubs and the script use
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    _stub(bin_dir, "id", f'echo {uid}; echo "id $*" >> {tmp_path}/calls')
    if apt is not None:
        _stub(bin_dir, "apt-get", f'echo "apt-get $*" >> {tmp_path}/calls\n{apt}')
    if sudo:
        _stub(bin_dir, "sudo", f'echo "sudo $*" >> {tmp_path}/calls\nshift; "$@"')
    return {
        "PATH": str(bin_dir),
        "SUPPORT_DEPS_ROOT": str(root),
        "TMPDIR": str(tmp_path),
        "HOME": str(tmp_path),
    }


def _run(env: dict[str, str], *packages: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(SCRIPT), *packages], env=env, capture_output=True, text=True, timeout=60
    )


def _calls(tmp_path: Path) -> str:
    calls = tmp_path / "calls"
    return calls.read_text() if calls.exists() else ""


def test_installed_packages_are_a_no_op_on_this_machine(tmp_path: Path) -> None:
    # Given this machine, where chromium, nginx and DejaVu Sans are installed,
    # and an apt-get first on PATH that records any call
    spy = tmp_path / "spy"
    spy.mkdir()
    _stub(spy, "apt-get", f'echo "apt-get $*" >> {tmp_path}/calls; exit 1')
    env = {**os.environ, "PATH": f"{spy}:{os.environ['PATH']}"}
    # When make test's install step runs
    done = _run(env)
    # Then it succeeds silently without calling the package tool
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert _calls(tmp_path) == ""


def test_not_root_and_no_sudo_fails_with_one_line_saying_what_to_run(tmp_path: Path) -> None:
    # Given a machine without the packages, a user who is not root and no usable sudo
    env = _machine(tmp_path, uid=1000, apt="exit 0")
    # When the install step runs
    done = _run(env)
    # Then it fails with one line naming the command to run, and installs nothing
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"sudo apt-get update && sudo apt-get install -y {PACKAGES}" in done.stderr
    assert "apt-get" not in _calls(tmp_path)


def test_no_apt_get_fails_with_one_line(tmp_path: Path) -> None:
    # Given a machine without the packages and without apt-get
    env = _machine(tmp_path, uid=0, apt=None)
    # When the install step runs
    done = _run(env, "nginx")
    # Then one line says what is missing and how to proceed
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "missing nginx" in done.stderr and "no apt-get" in done.stderr


def test_a_package_apt_cannot_install_fails_with_one_line(tmp_path: Path) -> None:
    # Given root, and an apt-get that cannot find the package (as on a mirror without it)
    env = _machine(
        tmp_path,
        uid=0,
        apt='case "$*" in *install*) echo "E: Unable to locate package chromium" >&2; exit 100;; esac',
    )
    # When the install step runs
    done = _run(env, "chromium")
    # Then after its progress line there is one failure line, naming apt's log and the command
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("install-deps: installing chromium"), lines
    assert "apt-get could not install chromium" in lines[1]
    assert "apt-get install -y chromium" in lines[1]
    log = Path(lines[1].split("its output: ")[1].split(")")[0])
    assert "Unable to locate package chromium" in log.read_text()


@pytest.mark.parametrize("uid, sudo", [(0, False), (1000, True)], ids=["root", "passwordless-sudo"])
def test_missing_packages_are_installed_with_apt(tmp_path: Path, uid: int, sudo: bool) -> None:
    # Given a machine without the packages, root or a passwordless sudo, and an apt-get whose
    # install puts the packages' files in place
    root = tmp_path / "root"
    files = " ".join(
        f"{root}/{f}"
        for f in (
            "usr/bin/chromium",
            "usr/sbin/nginx",
            "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        )
    )
    install = (
        f'case "$*" in *install*) for f in {files}; do mkdir -p "${{f%/*}}"; '
        'touch "$f"; [ "${f##*.}" = ttf ] || chmod +x "$f"; done;; esac'
    )
    env = _machine(tmp_path, uid=uid, apt=install, sudo=sudo)
    # When the install step runs
    done = _run(env)
    # Then apt-get installed exactly the missing packages and the script reports them
    assert done.returncode == 0, done.stderr
    assert f"install-deps: installed {PACKAGES}" in done.stderr
    assert f"install -y -qq {PACKAGES}" in _calls(tmp_path)
    assert ("sudo -n" in _calls(tmp_path)) == sudo
    # And a second run is a silent no-op
    again = _run(env)
    assert (again.returncode, again.stderr) == (0, "")


def test_an_empty_test_run_fails_ci(tmp_path: Path) -> None:
    """.ci/run is `make test`; pytest exits 5 when it collects nothing and the run must fail."""
    # Given a folder with no tests
    empty = tmp_path / "no-tests"
    empty.mkdir()
    # (an outer `make test PYTEST_PATHS=…` hands its command-line variables to every sub-make
    # through MAKEFLAGS; they would override this run's PYTEST_PATHS and recurse)
    outer_make = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    env = {k: v for k, v in os.environ.items() if k not in outer_make}
    env["PYTEST_PATHS"] = str(empty)
    env.setdefault("SUPPORT_TEST_DATABASE_URL", "postgresql+psycopg://unused@127.0.0.1/unused")
    # When CI runs on it
    done = subprocess.run(
        [str(REPO / ".ci" / "run")], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    # Then CI fails, because pytest collected nothing
    assert done.returncode != 0
    assert "no tests ran" in done.stdout + done.stderr
