"""exoctl's command line as a user types it: options anywhere, help everywhere, defaults, check."""

import json
import subprocess

import pytest

from conftest import EXOCTL, profile_text

COMMANDS = ("run", "status", "ping", "check", "login", "logout", "refresh", "metrics", "cmdlets",
            "help")


def test_options_after_the_cmdlet_are_exoctls(exod):
    """The README's example: exoctl's long options work after the cmdlet's parameters."""
    r = exod.exoctl("run", "Get-Mailbox", "-Identity", "user000001", "--output", "csv",
                    "--select", "Name,Alias")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split(",")[:1] == ["Name"]
    assert lines[1].startswith("user000001")
    before = exod.exoctl("-o", "csv", "run", "Get-Mailbox", "-Identity", "user000001",
                         "--select", "Name,Alias")
    assert before.returncode == 0 and before.stdout == r.stdout


def test_short_options_after_the_cmdlet_stay_powershells(exod, fake):
    """-o after Get-Mailbox is a cmdlet parameter: refused by the binder, before anything is sent."""
    invokes = fake.counters()["invoke_requests"]
    r = exod.exoctl("run", "Get-Mailbox", "-ResultSize", "1", "-o", "csv")
    assert r.returncode == 2
    assert "-o" in r.stderr
    assert fake.counters()["invoke_requests"] == invokes


def test_hints_work_when_pasted(exod):
    """exod's hint `exoctl login -p NAME` parses: -p after the command is exoctl's."""
    r = exod.exoctl("login", "-p", "contoso")
    assert "login: use --device or --password" not in r.stderr
    assert "unexpected argument" not in r.stderr
    assert "unknown option" not in r.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    for flag in ("--help", "-h"):
        r = subprocess.run([EXOCTL, command, flag], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("usage: exoctl [OPTIONS] %s" % command)
        assert r.stderr == ""
    assert subprocess.run([EXOCTL, "help", command], capture_output=True,
                          text=True).stdout.startswith("usage: exoctl [OPTIONS] %s" % command)


def test_help_of_a_cmdlet_from_run():
    r = subprocess.run([EXOCTL, "run", "Get-Mailbox", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout.startswith("Get-Mailbox (Exchange Online)")
    assert "-ResultSize <Unlimited[UInt32]>" in r.stdout or "-ResultSize" in r.stdout


def test_usage_errors_exit_2():
    for argv in (["--bogus", "status"], ["status", "--output"], ["-o", "xml", "status"],
                 ["Get-Mailbox"], []):
        r = subprocess.run([EXOCTL] + argv, capture_output=True, text=True)
        assert r.returncode == 2, argv
        assert r.stderr, argv
    r = subprocess.run([EXOCTL, "Get-Mailbox"], capture_output=True, text=True)
    assert "exoctl run Get-Mailbox" in r.stderr


def test_user_config_gives_socket_and_profile(exod, tmp_path):
    """~/.config/exoctl/config (XDG) is read; the environment and the line win over it."""
    d = tmp_path / "exoctl"
    d.mkdir()
    (d / "config").write_text("# exoctl defaults\nsocket = %s\nprofile = contoso\n" % exod.socket)
    env = {"XDG_CONFIG_HOME": str(tmp_path), "EXOD_SOCKET": ""}
    r = exod.exoctl("run", "Get-Mailbox", "-ResultSize", "1", "--output", "json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["Name"] == "user000001"
    r = exod.exoctl("--profile", "nosuch", "status", env=env)
    assert r.returncode == 2 and "nosuch" in r.stderr
    (d / "config").write_text("socket = %s\ncolour = yes\n" % exod.socket)
    r = exod.exoctl("status", env=env)
    assert r.returncode == 2
    assert "%s:2: colour: unknown key" % (d / "config") in r.stderr


def test_check_is_a_nagios_plugin(exod):
    assert exod.exoctl("run", "Get-Mailbox", "-ResultSize", "1").returncode == 0
    r = exod.exoctl("check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("EXOD OK - contoso: token valid ")
    assert "'in_flight'=0;;;0;" in r.stdout and "'failures'=0c" in r.stdout
    r = exod.exoctl("check", "--token-warning", "86400")
    assert r.returncode == 1 and r.stdout.startswith("EXOD WARNING - ")
    r = exod.exoctl("check", "--token-critical", "x")
    assert r.returncode == 3


def test_check_critical_when_exod_is_down(tmp_path):
    r = subprocess.run([EXOCTL, "-s", str(tmp_path / "none.sock"), "check"], capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert r.stdout.startswith("EXOD CRITICAL - cannot reach exod")


def test_check_critical_when_a_sign_in_is_needed(exod_factory, fake):
    text = profile_text("contoso", fake, {"app_id": None, "pfx": None, "pfx_password_file": None},
                        auth="device", app_id=None, certificate_file=None,
                        certificate_password_file=None)
    e = exod_factory(text).start()
    r = e.exoctl("check")
    assert r.returncode == 2, r.stdout
    assert "contoso: needs a sign-in (exoctl login -p contoso)" in r.stdout


def test_no_progress_when_stderr_is_not_a_terminal(exod, fake):
    fake.knobs(throttle={"count": 1, "retry_after": 1})
    r = exod.exoctl("run", "Get-Mailbox", "-ResultSize", "2")
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "\033" not in r.stderr
    assert "throttled" not in r.stderr
