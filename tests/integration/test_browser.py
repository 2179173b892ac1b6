"""Browser sign-in: exoctl login --browser against the fake's /authorize, driven as a browser would.

The test plays the browser: it reads the address exoctl prints, GETs it from the fake (which
signs in whoever /_fake/authorize says and redirects), and follows the redirect to exoctl's
listener on localhost, which answers with a page once exod has redeemed the code.
"""

import base64
import hashlib
import os
import re
import socket
import ssl
import stat
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

from conftest import EXOCTL, profile_text, restart_and_run, wait_for

URL_RE = re.compile(r"(https://\S+/oauth2/v2\.0/authorize\?\S+)")
PUBLIC_CLIENT = "fb78d390-0c51-40cd-8e17-fdbfab77341b"
AUTH_CODE_GRANT = "authorization_code"


def delegated_profile(fake, auth="interactive", **keys):
    return profile_text("contoso", fake, {"app_id": None, "pfx": None, "pfx_password_file": None},
                        auth=auth, app_id=None, certificate_file=None,
                        certificate_password_file=None, **keys)


class Login:
    """exoctl login running in the background, its output read as it comes."""

    def __init__(self, e, *args, env=None):
        full = dict(os.environ, EXOD_SOCKET=e.socket)
        for name in ("EXOD_PROFILE", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION"):
            full.pop(name, None)
        full.update(env or {})
        self.proc = subprocess.Popen([EXOCTL, "login"] + list(args), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=full)
        self.err, self.out = [], []
        self.readers = [threading.Thread(target=self._read, args=(f, lines), daemon=True)
                        for f, lines in ((self.proc.stderr, self.err), (self.proc.stdout, self.out))]
        for t in self.readers:
            t.start()

    @staticmethod
    def _read(f, lines):
        for line in f:
            lines.append(line)

    def stderr(self):
        return "".join(self.err)

    def url(self):
        """The sign-in address exoctl printed."""
        wait_for(lambda: URL_RE.search(self.stderr()) or self.proc.poll() is not None,
                 "exoctl to print the sign-in address")
        m = URL_RE.search(self.stderr())
        assert m, "exoctl printed no address:\n" + self.stderr()
        return m.group(1)

    def wait(self, timeout=60):
        rc = self.proc.wait(timeout)
        for t in self.readers:
            t.join(10)
        return rc, "".join(self.out), self.stderr()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()


def query(url):
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


def browse(fake, url, redirects=True):
    """GETs url as a browser would; returns (status, final url, body or Location)."""
    handlers = [urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=fake.ca_file)),
                urllib.request.ProxyHandler({})]
    if not redirects:
        class Stop(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kw):
                return None
        handlers.append(Stop())
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=30) as r:
            return r.status, r.geturl(), r.read().decode()
    except urllib.error.HTTPError as err:
        if not redirects and err.code == 302:
            return 302, url, err.headers["Location"]
        return err.code, err.geturl(), err.read().decode()


def raw_request(port, data):
    """Sends data to exoctl's listener; returns everything it answers before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        chunks = []
        while True:
            got = s.recv(65536)
            if not got:
                return b"".join(chunks).decode(errors="replace")
            chunks.append(got)


def connect_refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def grants(fake):
    return fake.counters()["token_requests"].get(AUTH_CODE_GRANT, 0)


def test_browser_login_then_run_and_restart(exod_factory, fake, creds):
    fake.browser("approve", creds["user"])
    e = exod_factory(delegated_profile(fake, user_principal_name=creds["user"])).start()
    before = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})
    assert before[-1]["error"]["code"] == "NeedsLogin"
    assert "'exoctl login -p contoso" in before[-1]["error"]["message"]
    login = Login(e)                    # auth = interactive: the browser is the default
    url = login.url()
    q = query(url)
    assert url.startswith(fake.url + "/contoso.onmicrosoft.com/oauth2/v2.0/authorize?")
    assert (q["client_id"], q["response_type"], q["response_mode"]) == (PUBLIC_CLIENT, "code", "query")
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert "offline_access" in q["scope"].split() and q["login_hint"] == creds["user"]
    assert re.fullmatch(r"http://localhost:\d+", q["redirect_uri"]) and len(q["state"]) >= 22
    status, final, body = browse(fake, url)
    assert status == 200 and final.startswith(q["redirect_uri"] + "/?code=")
    assert "Signed in" in body and creds["user"] in body
    rc, out, err = login.wait()
    assert rc == 0, err
    assert out == "signed in as %s\n" % creds["user"]
    assert grants(fake) == 1
    last = fake.counters()["last_token_request"]
    assert (last["grant_type"], last["client_id"]) == (AUTH_CODE_GRANT, PUBLIC_CLIENT)
    run = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 2}})
    assert run[-1]["type"] == "done" and run[-1]["count"] == 2
    [p] = e.request({"op": "status"})[-1]["profiles"]
    assert (p["state"], p["auth"], p["identity"]) == ("connected", "interactive", creds["user"])
    cache = os.path.join(e.dir, "state", "contoso.token")
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    # The refresh token outlives exod: a restart signs in without a person.
    c = restart_and_run(e, fake)
    assert c["token_requests"].get("refresh_token", 0) >= 1 and grants(fake) == 0
    assert c["authorize_requests"] == 0


def test_device_profile_signs_in_with_browser(exod_factory, fake, creds):
    """login --browser on auth = device; the code and verifier never show in exod's log."""
    fake.browser("approve", creds["user"])
    e = exod_factory(delegated_profile(fake, auth="device")).start()
    login = Login(e, "--browser", "--no-open")
    url = login.url()
    status, final, body = browse(fake, url)
    assert status == 200 and "Signed in" in body
    rc, out, err = login.wait()
    assert rc == 0, err
    assert creds["user"] in out
    code = query(final)["code"]
    log = e.log_text()
    assert code not in log and "code_verifier" not in log
    assert e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})[-1]["type"] == "done"


def test_one_redirect_only(exod_factory, fake, creds):
    """After the redirect exoctl takes, the listener is gone and other connections get nothing."""
    fake.browser("approve", creds["user"])
    e = exod_factory(delegated_profile(fake)).start()
    login = Login(e)
    url = login.url()
    port = int(urllib.parse.urlsplit(query(url)["redirect_uri"]).port)
    spare = socket.create_connection(("127.0.0.1", port), timeout=30)  # as browsers open spares
    status, final, body = browse(fake, url)
    assert status == 200 and "Signed in" in body
    assert connect_refused(port)
    try:
        spare.sendall(("GET /?%s HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       % urllib.parse.urlsplit(final).query).encode())
        assert spare.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        spare.close()
    assert login.wait()[0] == 0
    assert grants(fake) == 1


def test_bad_state_and_garbage_are_refused_and_exoctl_keeps_waiting(exod_factory, fake, creds):
    fake.browser("approve", creds["user"])
    e = exod_factory(delegated_profile(fake)).start()
    login = Login(e, "--browser")
    url = login.url()
    redirect = query(url)["redirect_uri"]
    port = urllib.parse.urlsplit(redirect).port
    status, _, body = browse(fake, redirect + "/?code=forged&state=not-this-one")
    assert status == 400 and "Not for this sign-in" in body
    wait_for(lambda: "not for this sign-in" in login.stderr(), "exoctl's note of the refusal")
    assert browse(fake, redirect + "/favicon.ico")[0] == 404
    for bad in (b"POST /?code=x&state=y HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",
                b"GET /?code=%zz&state=y HTTP/1.1\r\n\r\n", b"GET /?code=a&code=b HTTP/1.1\r\n\r\n",
                b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"):
        assert raw_request(port, bad).startswith("HTTP/1.1 400 "), bad
    assert login.proc.poll() is None
    status, _, body = browse(fake, url)
    assert status == 200 and "Signed in" in body
    assert login.wait()[0] == 0
    assert grants(fake) == 1      # the forged code never reached exod


def test_timeout_over_ssh(exod_factory, fake):
    """Nobody signs in: exoctl gives up after --timeout, and over SSH it said how to forward."""
    e = exod_factory(delegated_profile(fake)).start()
    login = Login(e, "--timeout", "1", env={"SSH_CONNECTION": "198.51.100.7 50022 203.0.113.5 22"})
    url = login.url()
    port = urllib.parse.urlsplit(query(url)["redirect_uri"]).port
    rc, out, err = login.wait()
    assert rc == 4, err
    assert "ssh -L %d:localhost:%d " % (port, port) in err and "@203.0.113.5\n" in err
    assert "no sign-in answer came within 1 s" in err and out == ""
    assert connect_refused(port)
    assert fake.counters()["authorize_requests"] == 0 and grants(fake) == 0
    assert e.request({"op": "status"})[-1]["profiles"][0]["state"] == "needs_login"


def test_access_denied_is_shown(exod_factory, fake):
    fake.browser("deny")
    e = exod_factory(delegated_profile(fake)).start()
    login = Login(e)
    status, final, body = browse(fake, login.url())
    assert status == 200 and "Sign-in failed" in body and "access_denied" in body
    assert query(final)["error"] == "access_denied"
    rc, out, err = login.wait()
    assert rc == 4 and out == ""
    assert ("exoctl: the sign-in failed: access_denied: AADSTS65004: User declined to consent "
            "to access the app.\n") in err
    assert "Trace ID" not in err
    assert grants(fake) == 0


def test_xdg_open_on_a_desktop(exod_factory, fake, creds, tmp_path):
    fake.browser("approve", creds["user"])
    opened = tmp_path / "opened"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "xdg-open"
    script.write_text("#!/bin/sh\nprintf '%%s' \"$1\" > %s.tmp && mv %s.tmp %s\n"
                      % (opened, opened, opened))
    script.chmod(0o755)
    e = exod_factory(delegated_profile(fake)).start()
    login = Login(e, env={"DISPLAY": ":99", "PATH": "%s:%s" % (bindir, os.environ["PATH"])})
    url = login.url()
    wait_for(opened.exists, "xdg-open to run")
    assert opened.read_text() == url
    assert browse(fake, url)[0] == 200
    rc, _, err = login.wait()
    assert rc == 0 and "Opening it in your browser (xdg-open)" in err


def test_exod_checks_the_code_verifier_and_redirect(exod_factory, fake, creds):
    """The raw protocol: a wrong verifier, a spent code, a malformed verifier, a non-loopback redirect."""
    fake.browser("approve", creds["user"])
    e = exod_factory(delegated_profile(fake)).start()
    first = e.request({"id": "a", "op": "login", "method": "browser"})
    assert [a["type"] for a in first] == ["done"] and first[0]["method"] == "browser"
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://localhost:9"
    url = first[0]["authorize_url"] + "&" + urllib.parse.urlencode({
        "redirect_uri": redirect, "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    status, _, location = browse(fake, url, redirects=False)
    assert status == 302 and location.startswith(redirect + "/?")
    code = query(location)["code"]
    assert query(location)["state"] == "s"

    def login(**kw):
        return e.request(dict({"op": "login", "method": "browser", "code": code,
                               "code_verifier": verifier, "redirect_uri": redirect}, **kw))[-1]

    bad = login(code_verifier="short")
    assert bad["error"]["code"] == "BadRequest" and "RFC 7636" in bad["error"]["message"]
    bad = login(redirect_uri="http://evil.example:9")
    assert bad["error"]["code"] == "BadRequest" and "redirect_uri" in bad["error"]["message"]
    assert grants(fake) == 0      # refused before anything was sent
    wrong = login(code_verifier="A" * 43)
    assert wrong["error"]["code"] == "AuthFailed" and "AADSTS501481" in wrong["error"]["message"]
    spent = login()
    assert spent["error"]["code"] == "AuthFailed" and "AADSTS54005" in spent["error"]["message"]
    assert "run 'exoctl login -p contoso" in spent["error"]["message"]
    assert grants(fake) == 2


def test_browser_refused_for_other_methods(exod):
    err = exod.request({"op": "login", "method": "browser"})[-1]["error"]
    assert err["code"] == "BadRequest" and "signs in by itself" in err["message"]
    err = exod.request({"op": "login", "method": "browser", "code": 7})[-1]["error"]
    assert err["code"] == "BadRequest" and "are strings" in err["message"]
    r = exod.exoctl("login", "--device", "--timeout", "5")
    assert r.returncode == 2 and "go with the browser" in r.stderr


def test_exoctl_login_help_names_the_browser():
    r = subprocess.run([EXOCTL, "login", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for word in ("--browser", "--timeout S", "--port P", "--no-open", "auth = interactive"):
        assert word in r.stdout, word
