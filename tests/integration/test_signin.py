"""Every app-only sign-in method end to end, the token lifecycle, secret files, and clean logs."""

import base64
import contextlib
import http.server
import json
import os
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid

import pytest

import sealed
from conftest import EXOD, profile_text
from fake_state import DEFAULT_MANAGED_IDENTITIES

CONTOSO = "contoso.onmicrosoft.com"
USER_MI = next(mi for mi in DEFAULT_MANAGED_IDENTITIES if not mi.get("system"))
IMDS_PATH = "/metadata/identity/oauth2/token"
APP_SERVICE_PATH = "/msi/token"
POLL_S = 0.05                  # between looks at a condition
DEADLINE_S = 20                # longest any condition below may take to become true
CHECK_TIMEOUT_S = 30           # exod -t


# -- helpers ------------------------------------------------------------------------------

def run(e, cmdlet="Get-Mailbox", **params):
    """The answer lines of one run request."""
    return e.request({"op": "run", "cmdlet": cmdlet, "params": params or {"ResultSize": 2}})


def assert_done(lines, count=None):
    assert lines[-1]["type"] == "done", lines[-1]
    if count is not None:
        assert lines[-1]["count"] == count
    return lines[-1]


def status_of(e, name="contoso"):
    [p] = e.request({"op": "status", "profile": name})[-1]["profiles"]
    return p


def wait_for(cond, what, deadline_s=DEADLINE_S):
    """Polls cond() until it is true; fails naming what was awaited."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError("timed out after %ss waiting for %s" % (deadline_s, what))


def write_private(path, text, mode=0o600):
    """Writes a secret file as an admin would: private from the first byte, replaced atomically."""
    tmp = "%s.tmp" % path
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)
    return str(path)


def check_config(tmp_path, profile, env=None):
    """exod -t on a config with this profile: (returncode, stderr + stdout)."""
    conf = tmp_path / "exod-check.conf"
    conf.write_text("[exod]\nsocket = %s\nstate_dir = %s\n\n%s"
                    % (tmp_path / "check.sock", tmp_path, profile))
    r = subprocess.run([EXOD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=CHECK_TIMEOUT_S, env=dict(os.environ, **(env or {})))
    return r.returncode, r.stderr + r.stdout


@contextlib.contextmanager
def environment(**env):
    """os.environ with these variables for the duration (exod inherits it when started)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fake_app_token(fake, creds, tenant=CONTOSO):
    """An access token from the fake's token endpoint, obtained without exod (secret grant)."""
    ctx = ssl.create_default_context(cafile=fake.ca_file)
    form = urllib.parse.urlencode({
        "client_id": creds["app_id"], "client_secret": creds["client_secret"],
        "grant_type": "client_credentials",
        "scope": "https://outlook.office365.com/.default"}).encode()
    with urllib.request.urlopen(fake.url + "/%s/oauth2/v2.0/token" % tenant, form,
                                context=ctx, timeout=30) as r:
        return json.load(r)["access_token"]


def jws_header(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def app_only(fake, creds, **keys):
    """A profile with no certificate or secret of the conftest default, plus keys."""
    base = {"app_id": None, "certificate_file": None, "certificate_password_file": None}
    base.update(keys)
    return profile_text("contoso", fake, creds, **base)


class Tap:
    """An HTTPS relay in front of the fake that records what exod sends.

    The fake records only a summary of token requests (no assertion header, no claims value,
    no managed identity query), so tests that need those point exod here instead.  The relay
    serves the fake's own certificate (127.0.0.1, signed by the run's CA) so the same ca_file
    works, and forwards with Host set to its own address, so a client assertion whose audience
    names the relay still verifies at the fake."""

    DROP = ("host", "connection", "content-length", "accept-encoding", "keep-alive",
            "transfer-encoding", "expect", "te")
    PASS_BACK = ("content-type", "retry-after", "www-authenticate", "x-ms-diagnostics")

    def __init__(self, fake):
        self.fake = fake
        self.lock = threading.Lock()
        self.seen = []
        tap = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def relay(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                tap.record(self.command, self.path, self.headers, body)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in Tap.DROP}
                headers["Host"] = tap.host
                status, rh, data = fake.request(self.command, self.path, body, headers)
                self.send_response(status)
                for k, v in rh.items():
                    if k.lower() in Tap.PASS_BACK:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(fake.workdir, "server.pem"),
                            os.path.join(fake.workdir, "server.key"))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        self.url = "https://" + self.host
        self.thread = threading.Thread(target=self.server.serve_forever, args=(POLL_S,),
                                       daemon=True)
        self.thread.start()

    def record(self, method, target, headers, body):
        split = urllib.parse.urlsplit(target)
        entry = {"method": method, "path": split.path,
                 "query": dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
                 "headers": {k.lower(): v for k, v in headers.items()},
                 "form": dict(urllib.parse.parse_qsl(body.decode())) if body else {}}
        with self.lock:
            self.seen.append(entry)

    def requests(self, path_suffix=""):
        with self.lock:
            return [r for r in self.seen if r["path"].endswith(path_suffix)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tap(fake):
    t = Tap(fake)
    yield t
    t.stop()


# -- certificate ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm, alg, thumb_header", [
    (None, "PS256", "x5t#S256"),          # the default
    ("RS256", "RS256", "x5t"),
])
def test_certificate_pfx_signs_with_the_chosen_algorithm(exod_factory, fake, creds, tap,
                                                        algorithm, alg, thumb_header):
    e = exod_factory(profile_text("contoso", fake, creds, authority_uri=tap.url,
                                  assertion_algorithm=algorithm)).start()
    assert_done(run(e), 2)
    [req] = tap.requests("/oauth2/v2.0/token")
    form = req["form"]
    assert req["path"] == "/%s/oauth2/v2.0/token" % CONTOSO
    assert form["grant_type"] == "client_credentials" and form["client_id"] == creds["app_id"]
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header = jws_header(form["client_assertion"])
    assert header["alg"] == alg and thumb_header in header
    c = fake.counters()
    assert c["assertions_rejected"] == 0 and c["tokens_issued"] == 1
    assert c["last_token_request"]["client_auth"] == "assertion"


def test_certificate_pem_with_separate_key(exod_factory, fake, creds):
    e = exod_factory(app_only(fake, creds, app_id=creds["app_id"],
                              certificate_file=creds["cert_pem"],
                              certificate_key_file=creds["key_pem"])).start()
    assert_done(run(e), 2)
    assert fake.counters()["last_token_request"]["client_auth"] == "assertion"


def test_certificate_combined_pem(exod_factory, fake, creds, tmp_path):
    with open(creds["cert_pem"]) as c, open(creds["key_pem"]) as k:
        combined = write_private(tmp_path / "app.pem", c.read() + k.read())
    e = exod_factory(app_only(fake, creds, app_id=creds["app_id"],
                              certificate_file=combined)).start()
    assert_done(run(e), 2)
    assert fake.counters()["last_token_request"]["client_auth"] == "assertion"


def thumbprint_forms(t):
    pairs = [t[i:i + 2] for i in range(0, len(t), 2)]
    return {"upper": t, "lower": t.lower(), "upper-colons": ":".join(pairs),
            "lower-colons": ":".join(pairs).lower()}


def test_certificate_by_thumbprint(exod_factory, fake, creds):
    """One profile per way of writing the thumbprint; each signs in and runs."""
    forms = thumbprint_forms(creds["thumbprint"])
    conf = "\n".join(profile_text(name, fake, creds, certificate_file=None,
                                   certificate_password_file=None, certificate_thumbprint=thumb,
                                   certificate_store=creds["certificate_store"])
                      for name, thumb in forms.items())
    e = exod_factory(conf).start()
    for name in forms:
        lines = e.request({"op": "run", "profile": name, "cmdlet": "Get-Mailbox",
                           "params": {"ResultSize": 2}})
        assert_done(lines, 2)
    c = fake.counters()
    assert c["tokens_issued"] == len(forms) and c["assertions_rejected"] == 0


def test_certificate_thumbprint_not_in_store(tmp_path, fake, creds):
    missing = "00" * 20
    rc, out = check_config(tmp_path, app_only(fake, creds, app_id=creds["app_id"],
                                              certificate_thumbprint=missing,
                                              certificate_store=creds["certificate_store"]))
    assert rc == 1
    assert missing in out.upper().replace(":", "") and creds["certificate_store"] in out


def test_certificate_legacy_pfx_loads_or_says_why(exod_factory, fake, creds, tmp_path):
    profile = profile_text("contoso", fake, creds, certificate_file=creds["pfx_legacy"])
    rc, out = check_config(tmp_path, profile)
    if rc != 0:
        # Without OpenSSL's legacy provider the message must say what to do.
        assert "legacy" in out and creds["pfx_legacy"] in out, out
        return
    e = exod_factory(profile).start()
    assert_done(run(e), 2)
    assert fake.counters()["assertions_rejected"] == 0


def test_certificate_wrong_pfx_password(tmp_path, fake, creds):
    wrong_password = "wrong-" + uuid.uuid4().hex
    wrong = write_private(tmp_path / "wrong.pass", wrong_password)
    rc, out = check_config(tmp_path, profile_text("contoso", fake, creds,
                                                  certificate_password_file=wrong))
    assert rc == 1
    assert creds["pfx"] in out and "password" in out.lower(), out
    assert wrong_password not in out and creds["pfx_password"] not in out


def test_certificate_key_readable_by_others_is_refused(tmp_path, fake, creds):
    with open(creds["key_pem"]) as k:
        key = write_private(tmp_path / "lax.key", k.read(), mode=0o644)
    rc, out = check_config(tmp_path, app_only(fake, creds, app_id=creds["app_id"],
                                              certificate_file=creds["cert_pem"],
                                              certificate_key_file=key))
    assert rc == 1 and key in out and "group or others" in out, out


# -- client secret ---------------------------------------------------------------------------

def test_secret_signs_in(exod_factory, fake, creds):
    e = exod_factory(profile_text("contoso", fake, creds, auth="secret")).start()
    assert_done(run(e), 2)
    last = fake.counters()["last_token_request"]
    assert (last["grant_type"], last["client_auth"], last["tenant"]) == \
        ("client_credentials", "secret", CONTOSO)


def test_wrong_secret_is_auth_failed(exod_factory, fake, creds, tmp_path):
    wrong = write_private(tmp_path / "wrong-secret", "not~the~secret")
    e = exod_factory(profile_text("contoso", fake, creds, auth="secret",
                                  client_secret_file=wrong)).start()
    err = run(e)[-1]["error"]
    assert err["code"] == "AuthFailed" and "AADSTS7000215" in err["message"]
    r = e.exoctl("run", "Get-Mailbox")
    assert r.returncode == 4 and "AADSTS7000215" in r.stderr
    assert fake.counters()["invoke_requests"] == 0


# -- managed identity --------------------------------------------------------------------------

def mi_profile(fake, creds, endpoint=None, **keys):
    return app_only(fake, creds, auth="managed_identity", managed_identity_endpoint=endpoint,
                    **keys)


def test_managed_identity_imds(exod_factory, fake, creds, tap):
    """System-assigned, and the user-assigned one picked by each of its three ids."""
    profiles = {
        "system": ({}, {}),
        "by-client-id": ({"managed_identity_client_id": USER_MI["client_id"]},
                         {"client_id": USER_MI["client_id"]}),
        "by-object-id": ({"managed_identity_object_id": USER_MI["object_id"]},
                         {"object_id": USER_MI["object_id"]}),
        "by-resource-id": ({"managed_identity_resource_id": USER_MI["resource_id"]},
                           {"msi_res_id": USER_MI["resource_id"]}),
    }
    conf = "\n".join(profile_text(name, fake, creds, auth="managed_identity", app_id=None,
                                   certificate_file=None, certificate_password_file=None,
                                   managed_identity_endpoint=tap.url + IMDS_PATH, **keys)
                      for name, (keys, _) in profiles.items())
    e = exod_factory(conf).start()
    for name in profiles:
        lines = e.request({"op": "run", "profile": name, "cmdlet": "Get-Mailbox",
                           "params": {"ResultSize": 2}})
        assert_done(lines, 2)
        assert status_of(e, name)["state"] == "connected"
    seen = tap.requests(IMDS_PATH)
    for req in seen:
        q = req["query"]
        assert req["method"] == "GET" and req["headers"]["metadata"] == "true"
        assert q["api-version"] == "2018-02-01"
        assert q["resource"] == "https://outlook.office365.com"
    selectors = sorted(sorted((k, v) for k, v in r["query"].items()
                              if k in ("client_id", "object_id", "msi_res_id")) for r in seen)
    assert selectors == sorted(sorted(q.items()) for _, q in profiles.values())
    assert fake.counters()["mi_requests"] == len(profiles)


def test_managed_identity_app_service(exod_factory, fake, creds, tap):
    header = "hdr-" + uuid.uuid4().hex
    fake.knobs(identity_header=header)
    e = exod_factory(mi_profile(fake, creds, managed_identity_client_id=USER_MI["client_id"]))
    with environment(IDENTITY_HEADER=header, IDENTITY_ENDPOINT=tap.url + APP_SERVICE_PATH):
        e.start()
    assert_done(run(e), 2)
    [req] = tap.requests(APP_SERVICE_PATH)
    assert req["headers"]["x-identity-header"] == header
    assert req["query"]["api-version"] == "2019-08-01"
    assert req["query"]["client_id"] == USER_MI["client_id"]
    assert fake.counters()["mi_requests"] == 1
    e.stop()
    assert header not in e.log_text()


def test_managed_identity_retries_transient_failures(exod_factory, fake, creds):
    fake.knobs(mi_fault={"status": 503, "count": 2})
    e = exod_factory(mi_profile(fake, creds, fake.url + IMDS_PATH)).start()
    assert_done(run(e), 2)
    c = fake.counters()
    assert c["mi_requests"] == 3 and c["tokens_issued"] == 1


def test_managed_identity_unknown_identity_fails(exod_factory, fake, creds):
    e = exod_factory(mi_profile(fake, creds, fake.url + IMDS_PATH,
                                managed_identity_client_id=str(uuid.uuid4()))).start()
    err = run(e)[-1]["error"]
    assert err["code"] == "AuthFailed"
    assert "400" in err["message"] and "Identity not found" in err["message"]
    # A 400 is not one of IMDS's retryable answers.
    assert fake.counters()["mi_requests"] == 1
    assert e.exoctl("run", "Get-Mailbox").returncode == 4


# -- access token handed in ---------------------------------------------------------------------

def token_profile(fake, creds, token_file):
    return app_only(fake, creds, auth="access_token", access_token_file=token_file)


def test_access_token_file(exod_factory, fake, creds, tmp_path):
    token_file = write_private(tmp_path / "handed-in.token", fake_app_token(fake, creds) + "\n")
    fake.reset()
    e = exod_factory(token_profile(fake, creds, token_file)).start()
    assert_done(run(e), 2)
    c = fake.counters()
    assert c["token_requests"] == {} and c["invoke_requests"] == 1
    assert status_of(e)["state"] == "connected"


def test_access_token_expired_then_replaced(exod_factory, fake, creds, tmp_path):
    fake.knobs(token_lifetime=-60)
    token_file = write_private(tmp_path / "handed-in.token", fake_app_token(fake, creds))
    fake.knobs(token_lifetime=3599)
    e = exod_factory(token_profile(fake, creds, token_file)).start()
    err = run(e)[-1]["error"]
    assert err["code"] == "NeedsLogin" and token_file in err["message"]
    assert "expired" in err["message"]
    assert fake.counters()["invoke_requests"] == 0
    # Whoever hands tokens in writes a fresh one: the next request uses it.
    write_private(token_file, fake_app_token(fake, creds))
    assert_done(run(e), 2)


# -- token lifecycle ---------------------------------------------------------------------------

def test_refresh_in_is_honoured(exod_factory, fake, creds):
    """refresh_in = 1 s on hour-long tokens: exod renews long before expiry minus refresh_margin,
    and never sooner than refresh_in after the previous request."""
    refresh_in = 1
    fake.knobs(refresh_in=refresh_in)
    e = exod_factory(profile_text("contoso", fake, creds))
    started = time.monotonic()          # before the first token request, so a lower bound
    e.start()
    failures = []

    def renewed():
        failures.extend(l for l in [run(e)[-1]] if l["type"] != "done")
        return fake.counters()["tokens_issued"] >= 3

    wait_for(renewed, "two renewals driven by refresh_in")
    issued = fake.counters()["tokens_issued"]
    elapsed = time.monotonic() - started
    assert failures == []
    # Token n (n >= 1) is requested no sooner than (n - 1) * refresh_in after the first.
    assert issued <= elapsed // refresh_in + 1, (issued, elapsed)
    # The fake counts a token when it sends it; exod, a moment later when it has read it.
    wait_for(lambda: status_of(e)["token_acquisitions"] >= 3, "exod to take the third token")
    assert status_of(e)["token_expires_in"] > 3000


def test_rollovers_under_concurrent_load(exod_factory, fake, creds):
    """Lifetime 3 s, refresh_margin 1 s: a new token every 2 s, while 6 clients keep running.

    What must hold whatever the machine's load: every request succeeds, every token request is
    used, and exod counts each token the fake issued.  How many rollovers fit
    in the time is a rate, measured by make bench, not asserted here."""
    lifetime, margin = 3, 1
    fake.knobs(token_lifetime=lifetime, latency_ms=10)
    e = exod_factory(profile_text("contoso", fake, creds, refresh_margin=margin)).start()
    wait_for(lambda: fake.counters()["tokens_issued"] >= 1, "the first token")
    stop = threading.Event()
    failures, done = [], [0]
    lock = threading.Lock()

    def client():
        s = e.connect()
        try:
            while not stop.is_set():
                last = e.request({"op": "run", "cmdlet": "Get-Mailbox",
                                  "params": {"ResultSize": 2}}, sock=s)[-1]
                with lock:
                    if last["type"] == "done" and last["count"] == 2:
                        done[0] += 1
                    else:
                        failures.append(last)
        finally:
            s.close()

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: fake.counters()["tokens_issued"] >= 4, "three rollovers", 30)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    c = fake.counters()
    assert failures == [] and done[0] > 0
    # A token sent just before it expires may reach the fake after (a loaded machine does
    # this with 1-second margins); exod then gets a new one and sends the request again, so
    # no client sees it.  How often is the machine's, not exod's, so it is not asserted.
    issued = c["tokens_issued"]
    assert issued >= 4
    # No failed or wasted request: each got its token, but one may be on its way as we read.
    assert issued <= sum(c["token_requests"].values()) <= issued + 1
    # The fake counts a token when it sends it; exod, a moment later when it has read it.
    wait_for(lambda: status_of(e)["token_acquisitions"] >= issued, "exod to take the last token")


def test_revoked_token_is_replaced_with_the_claims_challenge(exod_factory, fake, creds, tap):
    e = exod_factory(profile_text("contoso", fake, creds, authority_uri=tap.url)).start()
    assert_done(run(e), 2)
    fake.knobs(revoke=True)
    assert_done(run(e), 2)
    c = fake.counters()
    assert c["unauthorized"] == 1 and c["tokens_issued"] == 2
    assert c["last_token_request"]["claims"] is True
    first, second = tap.requests("/oauth2/v2.0/token")
    assert "claims" not in first["form"]
    claims = json.loads(second["form"]["claims"])
    assert claims["access_token"]["nbf"]["essential"] is True


def test_exoctl_refresh_gets_a_new_token(exod_factory, fake, creds):
    e = exod_factory(profile_text("contoso", fake, creds)).start()
    assert_done(run(e), 2)
    before = fake.counters()["tokens_issued"]
    r = e.exoctl("refresh")
    assert r.returncode == 0, r.stderr
    assert fake.counters()["tokens_issued"] == before + 1
    assert_done(run(e), 2)
    assert fake.counters()["tokens_issued"] == before + 1


def test_exoctl_status(exod_factory, fake, creds):
    e = exod_factory(profile_text("contoso", fake, creds)).start()
    assert_done(run(e), 2)
    r = e.exoctl("-o", "json", "status")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    [p] = out if isinstance(out, list) else out["profiles"]
    assert p["state"] == "connected"
    assert p["identity"] == creds["app_id"]
    assert p["organization"] == CONTOSO and p["environment"] == "O365Default"
    assert p["connection_uri"] == fake.url and p["authority_uri"] == fake.url
    assert 3000 < p["token_expires_in"] <= 3599


# -- secret files ------------------------------------------------------------------------------

def test_secret_from_credentials_directory(exod_factory, fake, creds, tmp_path):
    creds_dir = tmp_path / "credentials"
    creds_dir.mkdir(mode=0o700)
    write_private(creds_dir / "contoso-secret", creds["client_secret"])
    e = exod_factory(profile_text("contoso", fake, creds, auth="secret",
                                  client_secret_file="contoso-secret"))
    with environment(CREDENTIALS_DIRECTORY=str(creds_dir)):
        e.start()
    assert_done(run(e), 2)
    assert fake.counters()["last_token_request"]["client_auth"] == "secret"


@pytest.mark.parametrize("key", ["client_secret_file", "certificate_password_file"])
def test_group_readable_credential_is_refused(fake, creds, tmp_path, key):
    creds_dir = tmp_path / "credentials"
    creds_dir.mkdir(mode=0o700)
    value = creds["client_secret"] if key == "client_secret_file" else creds["pfx_password"]
    path = write_private(creds_dir / "lax", value, mode=0o640)
    keys = {"auth": "secret"} if key == "client_secret_file" else {}
    keys[key] = "lax"
    rc, out = check_config(tmp_path, profile_text("contoso", fake, creds, **keys),
                           env={"CREDENTIALS_DIRECTORY": str(creds_dir)})
    assert rc == 1 and path in out and "group or others" in out, out
    assert value not in out


# -- nothing secret in the log -----------------------------------------------------------------

def password_profile(fake, creds):
    return app_only(fake, creds, auth="password", user_principal_name=creds["user"],
                    password_file=creds["password_file"])


@pytest.mark.parametrize("method", ["certificate", "secret", "password", "managed_identity",
                                    "access_token"])
def test_no_secret_in_the_debug_log(exod_factory, fake, creds, tmp_path, method):
    secrets = [creds["client_secret"], creds["pfx_password"], creds["password"]]
    with open(creds["key_pem"]) as k:
        secrets += [l for l in k.read().splitlines() if l and not l.startswith("-----")][:3]
    env = {}
    if method == "certificate":
        profile = profile_text("contoso", fake, creds)
    elif method == "secret":
        profile = profile_text("contoso", fake, creds, auth="secret")
    elif method == "password":
        profile = password_profile(fake, creds)
    elif method == "managed_identity":
        header = "hdr-" + uuid.uuid4().hex
        fake.knobs(identity_header=header)
        env = {"IDENTITY_HEADER": header, "IDENTITY_ENDPOINT": fake.url + APP_SERVICE_PATH}
        secrets.append(header)
        profile = mi_profile(fake, creds)
    else:
        token = fake_app_token(fake, creds)
        secrets.append(token)
        profile = app_only(fake, creds, auth="access_token",
                           access_token_file=write_private(tmp_path / "t", token))
    e = exod_factory(profile, log_level="debug")
    with environment(**env):
        e.start()
    assert_done(run(e), 2)
    assert e.request({"op": "refresh"})[-1]["type"] == "done"
    assert_done(run(e), 2)
    cache = os.path.join(e.dir, "state", "contoso.token")
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            text = sealed.unseal(f.read(), sealed.read_key(e.cache_key), "contoso")
        secrets.append(json.loads(text)["refresh_token"])
    assert e.stop() == 0
    log = e.log_text()
    assert "profile=contoso" in log              # the log is there, at debug level
    leaked = [s[:6] + "..." for s in secrets if s in log]
    assert leaked == []
    assert "eyJ" not in log                      # no JWT: access token, assertion, id token
