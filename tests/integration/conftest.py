"""Fixtures: the simulated cloud, app credentials, and a real exod started per test."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakecloud  # noqa: E402

EXOD = os.environ.get("EXOD_BIN", os.path.join(ROOT, "build", "exod"))
EXOCTL = os.environ.get("EXOCTL_BIN", os.path.join(ROOT, "build", "exoctl"))
START_TIMEOUT = 60 if os.environ.get("EXOD_VALGRIND") else 10   # seconds until the socket answers


@pytest.fixture
def fake(tmp_path_factory, creds):
    cloud = fakecloud.FakeCloud(str(tmp_path_factory.mktemp("fake")), config=creds["config"])
    yield cloud
    cloud.stop()


@pytest.fixture(scope="session")
def creds(tmp_path_factory):
    d = tmp_path_factory.mktemp("creds")
    return fakecloud.make_credentials(str(d))


def profile_text(name, fake, creds, **keys):
    """A [profile] section for the fake's contoso tenant; keys override."""
    base = {
        "organization": "contoso.onmicrosoft.com",
        "auth": "certificate",
        "app_id": creds["app_id"],
        "certificate_file": creds["pfx"],
        "certificate_password_file": creds["pfx_password_file"],
        "connection_uri": fake.url,
        "authority_uri": fake.url,
        "ca_file": fake.ca_file,
    }
    if keys.get("auth") == "secret":
        base.pop("certificate_file")
        base.pop("certificate_password_file")
        base["client_secret_file"] = creds["client_secret_file"]
    base.update(keys)
    lines = ["[profile %s]" % name]
    lines += ["%s = %s" % (k, v) for k, v in base.items() if v is not None]
    return "\n".join(lines) + "\n"


class Exod:
    """A real exod process on a private socket."""

    def __init__(self, workdir, conf_text, log_level="debug"):
        self.dir = workdir
        self.socket = os.path.join(workdir, "exod.sock")
        self.conf = os.path.join(workdir, "exod.conf")
        self.log = os.path.join(workdir, "exod.log")
        # Delegated profiles keep their refresh token encrypted under this key (a fresh one).
        self.cache_key = os.path.join(workdir, "cache.key")
        with os.fdopen(os.open(self.cache_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                       "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        # In place of the blank line that once ended [exod]: tests name later lines by number.
        with open(self.conf, "w") as f:
            f.write("[exod]\nsocket = %s\nstate_dir = %s\nlog_level = %s\ncache_key_file = %s\n%s"
                    % (self.socket, os.path.join(workdir, "state"), log_level, self.cache_key,
                       conf_text))
        os.makedirs(os.path.join(workdir, "state"), mode=0o700, exist_ok=True)
        self.proc = None

    def start(self, wait=True, env=None):
        cmd = [EXOD, "-c", self.conf]
        if os.environ.get("EXOD_VALGRIND"):
            cmd = ["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--error-exitcode=99", "--show-leak-kinds=definite"] + cmd
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=self.logf,
                                     env=dict(os.environ, **(env or {})))
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("exod exited with %d:\n%s" % (self.proc.returncode, self.log_text()))
            try:
                if self.request({"op": "ping"})[-1]["type"] == "done":
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError("exod did not answer within %d s:\n%s" % (START_TIMEOUT, self.log_text()))

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.socket)
        return s

    def request(self, obj, sock=None):
        """Sends one request and returns every answer line up to the terminal one."""
        own = sock is None
        s = sock or self.connect()
        try:
            s.sendall((json.dumps(obj) + "\n").encode())
            return read_answer(s)
        finally:
            if own:
                s.close()

    def exoctl(self, *args, env=None, input=None, timeout=60):
        e = dict(os.environ, EXOD_SOCKET=self.socket)
        e.pop("EXOD_PROFILE", None)
        e.update(env or {})
        return subprocess.run([EXOCTL] + list(args), capture_output=True, text=True,
                              env=e, input=input, timeout=timeout)

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=START_TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.logf.close()
        return rc


def read_answer(s):
    """Reads lines until a terminal one (done/error) or EOF."""
    f = s.makefile("rb")
    lines = []
    for raw in f:
        msg = json.loads(raw)
        lines.append(msg)
        if msg.get("type") in ("done", "error"):
            break
    return lines


@pytest.fixture
def exod_factory(tmp_path_factory):
    started = []

    def make(conf_text, **kw):
        d = exod_dir = str(tmp_path_factory.mktemp("exod"))
        assert os.path.isdir(exod_dir)
        e = Exod(d, conf_text, **kw)
        started.append(e)
        return e

    yield make
    for e in started:
        rc = e.stop()
        # A clean stop is part of every test; valgrind's verdict comes through the exit code.
        assert rc == 0, "exod exited with %s:\n%s" % (rc, e.log_text()[-4000:])


@pytest.fixture
def exod(exod_factory, fake, creds):
    """exod with one certificate profile, 'contoso', against the fake."""
    return exod_factory(profile_text("contoso", fake, creds)).start()


def restart_and_run(e, fake):
    """Restarts exod with counters at zero, runs one cmdlet; returns the fake's counters."""
    assert e.stop() == 0
    fake.reset()
    e.start()
    run = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})
    assert run[-1]["type"] == "done", run
    return fake.counters()


def wait_for(cond, what, timeout=30):
    """Polls cond() until it is true; fails naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)
