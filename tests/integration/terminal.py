"""A real terminal for tests: a tmux session on a private server, typed into and read back.

Tests wait for what the screen must show, up to a deadline; they never sleep and hope.
"""

import os
import shlex
import subprocess
import time
import uuid

TMUX = "tmux"
WAIT_TIMEOUT = 30        # seconds a screen has to show what a test waits for


class Terminal:
    """One tmux window of width x height running a command under a login-less shell."""

    def __init__(self, tmpdir, width=80, height=24):
        self.socket = os.path.join(str(tmpdir), "tmux-%s" % uuid.uuid4().hex[:8])
        self.width = width
        self.height = height
        self.started = False

    def _tmux(self, *args, check=True):
        return subprocess.run([TMUX, "-S", self.socket] + list(args), capture_output=True,
                              text=True, check=check)

    def start(self, argv, env=None):
        """Runs argv in the window; the window stays open after it exits, for reading."""
        exports = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in (env or {}).items())
        command = "env %s %s; echo \"[exit $?]\"; sleep 3600" % (
            exports, " ".join(shlex.quote(a) for a in argv))
        self._tmux("-f", "/dev/null", "new-session", "-d", "-x", str(self.width),
                   "-y", str(self.height), "sh", "-c", command)
        self._tmux("set-option", "-g", "status", "off")
        self.started = True
        return self

    def keys(self, *keys):
        """Sends tmux key names (Enter, Tab, Up, C-c) or literal text with literal=..."""
        self._tmux("send-keys", "-t", "0", *keys)

    def type(self, text):
        self._tmux("send-keys", "-t", "0", "-l", text)

    def screen(self):
        return self._tmux("capture-pane", "-p", "-t", "0").stdout

    def wait_for(self, predicate, what, timeout=WAIT_TIMEOUT):
        """Polls the screen until predicate(screen) holds; returns that screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError("the terminal never showed %s; it shows:\n%s" % (what, screen))

    def wait_text(self, text, timeout=WAIT_TIMEOUT):
        return self.wait_for(lambda s: text in s, repr(text), timeout)

    def wait_exit(self, timeout=WAIT_TIMEOUT):
        """Waits for the command to end; returns (exit status, screen)."""
        screen = self.wait_for(lambda s: "[exit " in s, "the command's end", timeout)
        tail = screen[screen.rindex("[exit ") + 6:]
        return int(tail[:tail.index("]")]), screen

    def close(self):
        if self.started:
            self._tmux("kill-server", check=False)
            self.started = False
