"""What an administrator meets first, on exod's side: which profile a request is for, what login
and logout say, hints that can be pasted, --help and --version, plain logs off the journal, and
credential files that will not open named by file, line and key."""

import json
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import EXOD, Exod, profile_text, read_answer
from test_access import BIN, DAEMON, NOBODY, as_user, started_shared
from test_delegated import device_profile, login_device, password_profile

CHECK_TIMEOUT_S = 30            # exod -t
DEADLINE_S = 20                 # longest any awaited condition may take
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other users")


# -- helpers ------------------------------------------------------------------------------

def wait_for(cond, what):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def set_exod_keys(e, keys):
    """Puts keys at the top of the [exod] section of e's configuration (before any start)."""
    with open(e.conf) as f:
        text = f.read()
    with open(e.conf, "w") as f:
        f.write(text.replace("[exod]\n", "[exod]\n" + keys, 1))


def reload(e, edit):
    """Rewrites e's configuration with edit(text) and sends SIGHUP; waits for the verdict line."""
    with open(e.conf) as f:
        text = f.read()
    with open(e.conf, "w") as f:
        f.write(edit(text))
    seen = e.log_text().count("reload")
    e.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: e.log_text().count("reload") > seen, "the reload's log line")


def ran_on(e, profile):
    """How many Get-Mailbox requests of profile exod logged as done."""
    return len(re.findall(r"^profile=%s uid=\d+ pid=\d+ cmdlet=Get-Mailbox outcome=ok" % profile,
                          e.log_text(), re.M))


def run(e, **fields):
    return e.request(dict({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}},
                          **fields))[-1]


def line_of(path, prefix):
    """The 1-based number of the first line of path that starts with prefix."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.startswith(prefix):
                return n
    raise AssertionError("no line %r in %s" % (prefix, path))


def hint_words(message):
    """The command a message tells to run (run 'exoctl ...'), as bash splits it when pasted."""
    m = re.search(r"run '(exoctl [^']*)'", message)
    assert m, message
    r = subprocess.run(["bash", "-c", "printf '%s\\0' " + m.group(1)], capture_output=True,
                       text=True, timeout=CHECK_TIMEOUT_S, check=True)
    return r.stdout.split("\0")[:-1]


def check(conf, env=None):
    return subprocess.run([EXOD, "-t", "-c", str(conf)], capture_output=True, text=True,
                          timeout=CHECK_TIMEOUT_S, env=dict(os.environ, **(env or {})))


# -- which profile: default_profile, the only usable one, or a list ------------------------

def test_default_profile_takes_requests_that_name_none(exod_factory, fake, creds):
    e = exod_factory(profile_text("a", fake, creds) + profile_text("b", fake, creds, auth="secret"))
    set_exod_keys(e, "default_profile = b\n")
    e.start()
    assert run(e)["type"] == "done"
    assert (ran_on(e, "a"), ran_on(e, "b")) == (0, 1)
    # A name always wins over the default.
    assert run(e, profile="a")["type"] == "done" and ran_on(e, "a") == 1
    done = e.request({"op": "logout"})[-1]
    assert done["message"] == "forgot the token of b; app-only: the next request signs in again"

    # Without it, two profiles: the request must name one, and is told which.
    reload(e, lambda t: t.replace("default_profile = b\n", ""))
    err = run(e)["error"]
    assert err["code"] == "UnknownProfile"
    assert err["message"] == ("no profile given; you may use: a, b "
                              "(exoctl -p NAME, or default_profile in exod.conf)")
    assert err["profiles"] == ["a", "b"]
    err = run(e, profile="nosuch")["error"]
    assert err["code"] == "UnknownProfile" and err["profiles"] == ["a", "b"]
    assert err["message"] == 'no profile named "nosuch"; you may use: a, b (exoctl -p NAME)'

    # A default that names no profile is refused at reload, by file, line and key.
    reload(e, lambda t: t.replace("[exod]\n", "[exod]\ndefault_profile = c\n", 1))
    assert "reload failed" in e.log_text()
    assert "%s:2: default_profile: no [profile c] in this file" % e.conf in e.log_text()
    assert run(e)["error"]["code"] == "UnknownProfile"      # the running configuration stays


def test_unknown_default_profile_is_a_config_error(tmp_path, fake, creds):
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\ndefault_profile = fabrikam\n\n" % (tmp_path / "s.sock") +
                    profile_text("contoso", fake, creds))
    r = check(conf)
    assert r.returncode == 1
    assert "%s:3: default_profile: no [profile fabrikam] in this file" % conf in r.stderr


def shared_profiles(fake, creds):
    """a and c for nobody, b for bin; daemon may use none."""
    return (profile_text("a", fake, creds, allow_users="nobody") +
            profile_text("b", fake, creds, allow_users="bin") +
            profile_text("c", fake, creds, allow_users="nobody"))


@needs_root
def test_the_only_usable_profile_is_chosen_and_lists_show_only_usable_ones(fake, creds):
    e = started_shared(shared_profiles(fake, creds), exod_keys="default_profile = b\n")
    try:
        get = {"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}}
        # bin may use b only, which is also the default.
        assert as_user(e, BIN, BIN, get)["type"] == "done" and ran_on(e, "b") == 1
        # nobody may not use the default, and may use two: it must choose, between those two.
        err = as_user(e, NOBODY, NOBODY, get)["error"]
        assert err["code"] == "UnknownProfile" and err["profiles"] == ["a", "c"]
        assert err["message"] == ("no profile given; you may use: a, c "
                                  "(exoctl -p NAME, or default_profile in exod.conf)")
        # A name it may not use: forbidden, with the same list, and nothing of b's beyond its name.
        err = as_user(e, NOBODY, NOBODY, dict(get, profile="b"))["error"]
        assert err["code"] == "Forbidden" and err["profiles"] == ["a", "c"]
        assert err["message"] == "uid 65534 may not use profile b; you may use: a, c (exoctl -p NAME)"
        err = as_user(e, NOBODY, NOBODY, dict(get, profile="zz"))["error"]
        assert err["code"] == "UnknownProfile" and err["profiles"] == ["a", "c"]
        # daemon may use none: forbidden, logged, and no profile named.
        err = as_user(e, DAEMON, DAEMON, get)["error"]
        assert err["code"] == "Forbidden" and err["profiles"] == []
        assert err["message"] == "no profile given; uid 1 may use none of this exod's profiles"
        assert "uid=1 pid=" in e.log_text() and "denied: run (may use no profile)" in e.log_text()
        assert ran_on(e, "a") + ran_on(e, "c") == 0
    finally:
        assert e.stop() == 0


@needs_root
def test_one_usable_profile_among_several_is_taken(fake, creds):
    e = started_shared(shared_profiles(fake, creds))
    try:
        done = as_user(e, BIN, BIN, {"op": "run", "cmdlet": "Get-Mailbox"})
        assert done["type"] == "done", done
        assert ran_on(e, "b") == 1 and ran_on(e, "a") + ran_on(e, "c") == 0
    finally:
        assert e.stop() == 0


# -- login and logout say what they do --------------------------------------------------------

def test_login_with_the_wrong_method_names_the_one_that_works(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake)).start()
    err = e.request({"op": "login", "method": "password", "password": "x"})[-1]["error"]
    assert err["code"] == "BadRequest"
    assert err["message"] == ("profile contoso signs in with device code: run "
                              "'exoctl login -p contoso -s %s'" % e.socket)
    err = e.request({"op": "login", "method": "kerberos"})[-1]["error"]
    assert err["code"] == "BadRequest" and '"device", "password" or "browser"' in err["message"]
    assert fake.device_pending() == []          # neither started a device code


def test_password_profile_login_needs_the_password(exod_factory, fake, creds):
    e = exod_factory(password_profile(fake, creds, creds["user"], None)).start()
    want = ("profile contoso signs in with a password: run "
            "'exoctl login --password -p contoso -s %s'" % e.socket)
    for request in ({"op": "login", "method": "device"}, {"op": "login"},
                    {"op": "login", "method": "password"}):
        err = e.request(request)[-1]["error"]
        assert (err["code"], err["message"]) == ("BadRequest", want), request
    r = e.exoctl("-p", "contoso", "login", "--device")
    assert r.returncode == 2 and want in r.stderr
    done = e.request({"op": "login", "method": "password", "password": creds["password"]})[-1]
    assert done["type"] == "done" and done["identity"] == creds["user"]


def test_app_only_profile_has_no_login(exod_factory, fake, creds):
    e = exod_factory(profile_text("contoso", fake, creds)).start()
    for method in (None, "device", "password"):
        request = {"op": "login"} if method is None else {"op": "login", "method": method}
        err = e.request(request)[-1]["error"]
        assert err["code"] == "BadRequest"
        assert err["message"] == ("profile contoso signs in by itself as an application "
                                  "(auth = certificate) and has no login: run "
                                  "'exoctl refresh -p contoso -s %s' for a new token" % e.socket)


def test_logout_of_an_app_only_profile_signs_in_again_by_itself(exod_factory, fake, creds):
    e = exod_factory(profile_text("contoso", fake, creds)).start()
    assert run(e)["type"] == "done"
    issued = fake.counters()["tokens_issued"]
    done = e.request({"op": "logout"})[-1]
    assert done == {"type": "done", "message": "forgot the token of contoso; app-only: "
                                               "the next request signs in again"}
    assert run(e)["type"] == "done"
    assert fake.counters()["tokens_issued"] == issued + 1


def test_logout_of_a_delegated_profile_says_to_log_in(exod_factory, fake, creds):
    fake.knobs(device_interval=0.2)
    e = exod_factory(device_profile(fake)).start()
    login_device(e, fake, creds["user"])
    done = e.request({"op": "logout"})[-1]
    assert done["message"] == ("signed out of contoso: the saved sign-in was removed; run "
                               "'exoctl login -p contoso -s %s' to sign in again" % e.socket)
    assert run(e)["error"]["code"] == "NeedsLogin"


# -- hints: commands that work when pasted -----------------------------------------------------

def test_hints_name_the_profile_and_a_quoted_socket(fake, creds):
    d = tempfile.mkdtemp(prefix="exod $HOME `x` ")
    e = Exod(d, device_profile(fake))
    try:
        e.start()
        err = run(e)["error"]
        assert err["code"] == "NeedsLogin"
        assert hint_words(err["message"]) == ["exoctl", "login", "-p", "contoso", "-s", e.socket]
        err = e.request({"op": "login", "method": "password", "password": "x"})[-1]["error"]
        assert hint_words(err["message"]) == ["exoctl", "login", "-p", "contoso", "-s", e.socket]
    finally:
        assert e.stop() == 0
        shutil.rmtree(d)


def test_password_hint_has_password_and_shows_in_status(exod_factory, fake, creds):
    e = exod_factory(password_profile(fake, creds, creds["user"], None)).start()
    err = run(e)["error"]
    assert err["code"] == "NeedsLogin"
    words = ["exoctl", "login", "--password", "-p", "contoso", "-s", e.socket]
    assert hint_words(err["message"]) == words
    [p] = e.request({"op": "status"})[-1]["profiles"]
    assert hint_words(p["last_error"]) == words


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                    reason="needs systemd-socket-activate")
def test_hints_name_the_socket_systemd_passed(tmp_path, fake):
    passed = str(tmp_path / "passed.sock")
    conf = tmp_path / "exod.conf"
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    key = tmp_path / "cache.key"
    key.write_text(os.urandom(32).hex())
    key.chmod(0o600)
    conf.write_text("[exod]\nsocket = %s\nstate_dir = %s\ncache_key_file = %s\n\n"
                    % (tmp_path / "conf.sock", state, key) + device_profile(fake))
    log = open(tmp_path / "exod.log", "wb")
    proc = subprocess.Popen(["systemd-socket-activate", "-l", passed, EXOD, "-c", str(conf)],
                            stdout=log, stderr=log)
    try:
        wait_for(lambda: os.path.exists(passed), "the socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(passed)
        s.sendall(b'{"op":"run","cmdlet":"Get-Mailbox"}\n')
        err = read_answer(s)[-1]["error"]
        s.close()
        assert hint_words(err["message"]) == ["exoctl", "login", "-p", "contoso", "-s", passed]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        log.close()
    assert "systemd passed the socket %s" % passed in (tmp_path / "exod.log").read_text()


# -- exod --help, --version and usage errors --------------------------------------------------

@pytest.mark.parametrize("arg", ["--help", "-h"])
def test_help(arg):
    r = subprocess.run([EXOD, arg], capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("usage: exod ")
    for option in ("--config", "--check", "--debug", "--help", "--version"):
        assert option in r.stdout


@pytest.mark.parametrize("arg", ["--version", "-V"])
def test_version(arg):
    r = subprocess.run([EXOD, arg], capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    assert (r.returncode, r.stderr) == (0, "")
    assert re.fullmatch(r"exod \d+\.\d+\.\d+\n", r.stdout)


@pytest.mark.parametrize("args,says", [
    (["--bogus"], "exod: bad option '--bogus'"),
    (["-x"], "exod: unknown option '-x'"),
    (["-c"], "exod: -c needs an argument"),
    (["--config"], "exod: --config needs an argument"),
    (["-t", "extra"], "exod: unexpected argument 'extra'"),
])
def test_usage_errors(args, says):
    r = subprocess.run([EXOD] + args, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == says + "\nTry 'exod --help'.\n"


def test_long_options_work(tmp_path, fake, creds):
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") + profile_text("contoso", fake, creds))
    r = subprocess.run([EXOD, "--check", "--config", str(conf)], capture_output=True, text=True,
                       timeout=CHECK_TIMEOUT_S)
    assert r.returncode == 0 and "configuration and credentials OK" in r.stdout, r.stderr


# -- logs: priority prefixes for the journal only ---------------------------------------------

def bad_conf(tmp_path):
    conf = tmp_path / "exod.conf"
    conf.write_text("[profile p]\nauth = device\norganization = contoso.onmicrosoft.com\n"
                    "max_connections = 0\n")
    return conf


def check_logging_to(path, conf, env):
    with open(path, "wb") as f:
        rc = subprocess.run([EXOD, "-t", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=f,
                            env=env, timeout=CHECK_TIMEOUT_S).returncode
    assert rc == 1
    with open(path) as f:
        return f.read()


def test_log_prefixes_only_when_stderr_is_the_journal(tmp_path):
    conf = bad_conf(tmp_path)
    out = tmp_path / "stderr"
    out.touch()
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    want = "%s:4: max_connections: must be between 1 and 64\n" % conf
    # A file, no journal: plain.
    assert check_logging_to(out, conf, env) == want
    # The journal's stream is this very file: prefixed with the priority.
    st = os.stat(out)
    env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    assert check_logging_to(out, conf, env) == "<3>" + want
    # A journal stream inherited with some other descriptor: still plain.
    env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + 1)
    assert check_logging_to(out, conf, env) == want
    env["JOURNAL_STREAM"] = "%d:%dx" % (st.st_dev, st.st_ino)
    assert check_logging_to(out, conf, env) == want


def test_exod_t_on_a_terminal_is_plain(tmp_path):
    conf = bad_conf(tmp_path)
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    try:
        rc = subprocess.run([EXOD, "-t", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=slave,
                            env=env, timeout=CHECK_TIMEOUT_S).returncode
        os.close(slave)
        text = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:             # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            text += chunk
    finally:
        os.close(master)
    assert rc == 1
    assert text.decode().replace("\r\n", "\n") == "%s:4: max_connections: must be between 1 and 64\n" % conf


def test_a_running_exod_logs_plain_lines_to_a_file(exod):
    assert run(exod)["type"] == "done"
    assert re.search(r"^profile=contoso uid=\d+ .*outcome=ok", exod.log_text(), re.M)
    assert not re.search(r"^<\d>", exod.log_text(), re.M)


# -- credential files that will not open: file, line and key -----------------------------------

MISSING = [
    ("certificate_file", {}),
    ("certificate_password_file", {}),
    ("certificate_key_file", {"certificate_file": "CERT_PEM", "certificate_password_file": None}),
    ("client_secret_file", {"auth": "secret"}),
    ("ca_file", {}),
    ("certificate_store", {"certificate_file": None, "certificate_password_file": None,
                           "certificate_thumbprint": "00" * 20}),
]


@pytest.mark.parametrize("key,keys", MISSING, ids=[k for k, _ in MISSING])
def test_missing_file_names_file_line_and_key(tmp_path, fake, creds, key, keys):
    missing = str(tmp_path / "gone" / "app.pem")
    keys = {k: (creds["cert_pem"] if v == "CERT_PEM" else v) for k, v in keys.items()}
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") +
                    profile_text("contoso", fake, creds, **dict(keys, **{key: missing})))
    r = check(conf)
    assert r.returncode == 1
    assert r.stderr == "%s:%d: %s: %s: No such file or directory\n" % (
        conf, line_of(conf, key + " ="), key, missing)


def test_a_credential_that_is_not_a_file_names_file_line_and_key(tmp_path, fake, creds):
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") +
                    profile_text("contoso", fake, creds, certificate_file=str(tmp_path)))
    r = check(conf)
    assert r.returncode == 1
    assert r.stderr.startswith("%s:%d: certificate_file: " % (conf, line_of(conf, "certificate_file")))
    assert "not a regular file" in r.stderr


def test_missing_credential_by_name_is_looked_for_in_credentials_directory(tmp_path, fake, creds):
    creds_dir = tmp_path / "credentials"
    creds_dir.mkdir()
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") +
                    profile_text("contoso", fake, creds, auth="secret", client_secret_file="app.secret"))
    r = check(conf, env={"CREDENTIALS_DIRECTORY": str(creds_dir)})
    assert r.returncode == 1
    assert r.stderr == "%s:%d: client_secret_file: %s/app.secret: No such file or directory\n" % (
        conf, line_of(conf, "client_secret_file"), creds_dir)
    shutil.copy(creds["client_secret_file"], creds_dir / "app.secret")
    assert check(conf, env={"CREDENTIALS_DIRECTORY": str(creds_dir)}).returncode == 0


def test_missing_file_at_start_and_at_reload(exod_factory, fake, creds, tmp_path):
    missing = str(tmp_path / "gone.pfx")
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") +
                    profile_text("contoso", fake, creds, certificate_file=missing))
    r = subprocess.run([EXOD, "-c", str(conf)], capture_output=True, text=True,
                       timeout=CHECK_TIMEOUT_S)
    assert r.returncode == 1
    assert r.stderr == "%s:%d: certificate_file: %s: No such file or directory\n" % (
        conf, line_of(conf, "certificate_file"), missing)
    # Started sound, then reloaded with the file gone: refused, by file, line and key.
    e = exod_factory(profile_text("contoso", fake, creds)).start()
    reload(e, lambda t: t.replace(creds["pfx"], missing))
    where = "%s:%d: certificate_file: %s: No such file or directory" % (
        e.conf, line_of(e.conf, "certificate_file"), missing)
    assert "reload failed, keeping the running configuration: " + where in e.log_text()
    assert run(e)["type"] == "done"


def test_a_file_gone_under_an_unchanged_profile_fails_the_reload(exod_factory, fake, creds, tmp_path):
    pfx = str(tmp_path / "app.pfx")
    shutil.copy(creds["pfx"], pfx)
    e = exod_factory(profile_text("contoso", fake, creds, certificate_file=pfx)).start()
    assert run(e)["type"] == "done"
    os.unlink(pfx)
    # Nothing of the profile changed, but exod -t would refuse the file: so does the reload.
    reload(e, lambda t: t.replace("log_level = debug", "log_level = info"))
    where = "%s:%d: certificate_file: %s: No such file or directory" % (
        e.conf, line_of(e.conf, "certificate_file"), pfx)
    assert "reload failed, keeping the running configuration: " + where in e.log_text()
    assert run(e)["type"] == "done"         # the warm session goes on
