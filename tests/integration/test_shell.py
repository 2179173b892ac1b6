"""exoctl shell in a real terminal (a private tmux server), against a real exod and the fake cloud."""

import os
import shlex
import shutil
import stat
import subprocess
import time

import pytest

from conftest import EXOCTL

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

WAIT = 120 if os.environ.get("EXOD_VALGRIND") else 30    # seconds for the screen to show a thing
PROMPT = "exo:contoso>"


class Term:
    """A 100x30 terminal running one command; the screen is read with capture-pane."""

    def __init__(self, workdir, argv, env):
        self.sock = os.path.join(workdir, "tmux.sock")
        self.env = env
        # bash around the command says its exit status: tmux's own (#{pane_dead_status}) can
        # miss it, when the command's end races tmux's utempter helper for SIGCHLD.  bash, not
        # sh: while it waits it lets Ctrl-C end only a command that itself dies of it.
        script = " ".join(shlex.quote(a) for a in argv) + '; echo "[exit $?]"'
        self.tmux("-f", "/dev/null", "set-option", "-g", "remain-on-exit", "on", ";",
                  "new-session", "-d", "-x", "100", "-y", "30", "bash", "--norc", "-c", script)

    def tmux(self, *args):
        r = subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                           text=True, env=self.env, timeout=30)
        assert r.returncode == 0, "tmux %s: %s" % (args, r.stderr)
        return r.stdout

    def keys(self, *keys):
        self.tmux("send-keys", *keys)

    def type(self, text):
        self.tmux("send-keys", "-l", text)

    def screen(self):
        text = self.tmux("capture-pane", "-p", "-J", "-S", "-200")
        return [line.rstrip() for line in text.splitlines()]

    def line(self):
        """The last line that is not empty: the prompt and what is typed after it."""
        lines = [line for line in self.screen() if line]
        return lines[-1] if lines else ""

    def wait(self, what, cond):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if cond(self):
                return
            time.sleep(0.02)
        raise AssertionError("the screen never showed %s:\n%s" % (what, "\n".join(self.screen())))

    def wait_line(self, text):
        self.wait(repr(text), lambda t: t.line() == text)

    def wait_text(self, text, count=1):
        self.wait("%r %d times" % (text, count),
                  lambda t: "\n".join(t.screen()).count(text) >= count)

    def wait_exit(self, status):
        self.wait_text("[exit %d]" % status)

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True,
                       env=self.env, timeout=30)


@pytest.fixture
def term(exod, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), TMUX_TMPDIR=str(tmp_path))
    for k in ("XDG_STATE_HOME", "EXOD_SOCKET", "EXOD_PROFILE", "TMUX", "EDITRC"):
        env.pop(k, None)
    opened = []

    def make():
        t = Term(str(tmp_path), [EXOCTL, "-s", exod.socket, "shell", "-p", "contoso"], env)
        opened.append(t)
        t.wait_line(PROMPT)
        return t

    make.home = home
    yield make
    for t in opened:
        t.close()


def in_flight(exod):
    return exod.request({"op": "status"})[-1]["profiles"][0]["in_flight"]


def wait_in_flight(exod, n):
    deadline = time.monotonic() + WAIT
    while in_flight(exod) != n:
        assert time.monotonic() < deadline, "in_flight never became %d" % n
        time.sleep(0.02)


def test_completes_cmdlets_and_parameters_then_runs(term, exod):
    t = term()
    t.type("Get-Mailb")
    t.keys("Tab")
    # several cmdlets begin so: their common beginning, then (TAB again) the list
    t.wait_line(PROMPT + " Get-Mailbox")
    t.keys("Tab")
    t.wait_text("Get-MailboxStatistics")
    assert "Get-MailboxPlan" in "\n".join(t.screen())
    t.wait_line(PROMPT + " Get-Mailbox")
    t.type(" -ResultS")
    t.keys("Tab")
    t.wait_line(PROMPT + " Get-Mailbox -ResultSize")
    t.type("2")        # after the space the completion added
    t.wait_line(PROMPT + " Get-Mailbox -ResultSize 2")
    t.keys("Enter")
    t.wait_text("WARNING: There are more results available")
    t.wait_line(PROMPT)
    screen = "\n".join(t.screen())
    records = [m["data"] for m in exod.request(
        {"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 3}}) if m["type"] == "record"]
    assert records[0]["PrimarySmtpAddress"] in screen
    assert records[1]["PrimarySmtpAddress"] in screen
    assert records[2]["PrimarySmtpAddress"] not in screen
    assert "PrimarySmtpAddress" in screen           # a table, as on any terminal

    # the word as it will be split: an open quote, another case
    t.type("help 'get-casmailboxp")
    t.keys("Tab")
    t.wait_line(PROMPT + " help Get-CASMailboxPlan")
    t.keys("C-u")
    t.wait_line(PROMPT)

    t.type("stat")
    t.keys("Tab")
    t.wait_line(PROMPT + " status")
    t.keys("Enter")
    t.wait_text("connected")
    t.wait_line(PROMPT)
    t.type("exit")
    t.keys("Enter")
    t.wait_exit(0)


def test_history_is_kept_without_space_prefixed_lines(term):
    t = term()
    t.type("ping")
    t.keys("Enter")
    t.wait_text("pong")
    t.type(" Get-Mailbox -ResultSize 1")     # a leading space: not kept, as bash's ignorespace
    t.keys("Enter")
    t.wait_text("user000001@contoso.onmicrosoft.com")
    t.wait_line(PROMPT)
    t.keys("Up")
    t.wait_line(PROMPT + " ping")
    t.keys("Enter")
    t.wait_text("pong", 2)
    t.wait_line(PROMPT)
    t.type("exit")
    t.keys("Enter")
    t.wait_exit(0)

    hist = term.home / ".local" / "state" / "exoctl" / "history"
    # the same line twice in a row is kept once
    assert hist.read_text().splitlines() == ["ping", "exit"]
    assert stat.S_IMODE(hist.stat().st_mode) == 0o600
    assert stat.S_IMODE(hist.parent.stat().st_mode) == 0o700

    # the next shell starts with it
    t = term()
    t.keys("Up")
    t.wait_line(PROMPT + " exit")
    t.keys("Up")
    t.wait_line(PROMPT + " ping")
    t.keys("C-u")
    t.wait_line(PROMPT)
    t.keys("C-d")
    t.wait_exit(0)


def test_ctrl_c_drops_the_line_or_stops_the_command(term, exod, fake):
    t = term()
    t.type("Get-Mail")
    t.keys("C-c")
    t.wait_text(PROMPT + " Get-Mail^C")
    t.wait_line(PROMPT)

    # a command that waits on the service: Ctrl-C ends it, and its request, not the shell
    fake.knobs(latency_ms=60000)
    t.type("Get-Mailbox -ResultSize 1")
    t.keys("Enter")
    wait_in_flight(exod, 1)
    t.keys("C-c")
    t.wait_line(PROMPT)
    wait_in_flight(exod, 0)
    fake.knobs(latency_ms=0)

    t.type("ping")
    t.keys("Enter")
    t.wait_text("pong")
    t.wait_line(PROMPT)
    t.type("exit 3")
    t.keys("Enter")
    t.wait_exit(3)


def test_a_script_on_standard_input(exod, tmp_path):
    """Not a terminal: lines are read as a script, without prompt or history."""
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("XDG_STATE_HOME", None)
    script = ("# a comment\n"
              "ping\n"
              "Get-Mailbox -ResultSize 1 -WarningAction SilentlyContinue\n"
              "Get-Mailbox -Identity 'not closed\n"
              "exit 4\n"
              "ping\n")
    r = subprocess.run([EXOCTL, "-s", exod.socket, "-o", "ndjson", "shell"], input=script,
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 4, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "pong" and len(out) == 2 and "user000001@" in out[1]
    assert "a ' quote is not closed" in r.stderr
    assert PROMPT not in r.stdout and "exo>" not in r.stdout
    assert not (tmp_path / ".local").exists()


def test_history_is_bounded_and_never_followed_through_a_symlink(term):
    state = term.home / ".local" / "state" / "exoctl"
    state.mkdir(parents=True)
    hist = state / "history"
    hist.write_text("".join("cmd%04d\n" % i for i in range(1, 1006)))
    t = term()
    t.keys("Up")
    t.wait_line(PROMPT + " cmd1005")
    t.keys("C-u")
    t.type("exit")
    t.keys("Enter")
    t.wait_exit(0)
    lines = hist.read_text().splitlines()
    assert len(lines) == 1000                   # SHELL_HISTORY_MAX
    assert lines[0] == "cmd0007" and lines[-2:] == ["cmd1005", "exit"]

    hist.unlink()
    target = term.home / "elsewhere"
    target.write_text("ping\n")
    hist.symlink_to(target)
    t = term()
    assert "history %s: cannot read it" % hist in "\n".join(t.screen())
    t.type("exit")
    t.keys("Enter")
    t.wait_exit(0)
    assert hist.is_symlink() and target.read_text() == "ping\n"
