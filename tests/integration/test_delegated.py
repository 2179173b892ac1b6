"""Delegated sign-ins: device code and password, refresh tokens that survive a restart."""

import json
import os
import socket
import stat
import threading
import time

import sealed
from conftest import profile_text, read_answer, restart_and_run

CONTOSO = "contoso.onmicrosoft.com"


def device_profile(fake, **keys):
    return profile_text("contoso", fake, {"app_id": None, "pfx": None, "pfx_password_file": None},
                        auth="device", app_id=None, certificate_file=None,
                        certificate_password_file=None, **keys)


def read_cache(e, path, profile="contoso"):
    """What a token cache holds: encrypted under e's cache_key_file (conftest gives every exod one)."""
    with open(path, "rb") as f:
        data = f.read()
    assert sealed.is_sealed(data), data[:16]
    return json.loads(sealed.unseal(data, sealed.read_key(e.cache_key), profile))


def login_device(e, fake, upn):
    """Runs op login on a raw socket, approves the code at the fake, returns (event, done)."""
    s = e.connect()
    s.sendall(b'{"id":"l","op":"login"}\n')
    f = s.makefile("rb")
    event = json.loads(f.readline())
    assert event["type"] == "login", event
    fake.device(event["user_code"], "approve", upn)
    done = json.loads(f.readline())
    s.close()
    return event, done


def test_device_login_then_run(exod_factory, fake, creds):
    fake.knobs(device_interval=0.2)
    e = exod_factory(device_profile(fake)).start()
    before = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})
    assert before[-1]["error"]["code"] == "NeedsLogin"
    assert "exoctl login" in before[-1]["error"]["message"]
    event, done = login_device(e, fake, creds["user"])
    assert event["verification_uri"] == "https://microsoft.com/devicelogin"
    assert event["user_code"] in event["message"] and event["expires_in"] > 0
    assert done == {"id": "l", "type": "done", "identity": creds["user"]}
    run = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 2}})
    assert run[-1]["type"] == "done" and run[-1]["count"] == 2
    [p] = e.request({"op": "status"})[-1]["profiles"]
    assert (p["state"], p["identity"]) == ("connected", creds["user"])
    h = {k.lower(): v for k, v in fake.counters()["last_invoke_headers"].items()}
    assert h["x-anchormailbox"] == "UPN:" + creds["user"]
    last = fake.counters()["last_token_request"]
    assert last["client_id"] == "fb78d390-0c51-40cd-8e17-fdbfab77341b"
    # The fake returns a refresh token only when offline_access was asked for.
    assert os.path.exists(os.path.join(e.dir, "state", "contoso.token"))


def test_refresh_token_survives_restart(exod_factory, fake, creds):
    fake.knobs(device_interval=0.2)
    e = exod_factory(device_profile(fake)).start()
    login_device(e, fake, creds["user"])
    cache = os.path.join(e.dir, "state", "contoso.token")
    st = os.stat(cache)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(cache)).st_mode) == 0o700
    saved = read_cache(e, cache)
    assert saved["refresh_token"] and "access_token" not in saved
    c = restart_and_run(e, fake)
    assert c["token_requests"].get("refresh_token", 0) >= 1
    assert c["token_requests"].get("urn:ietf:params:oauth:grant-type:device_code", 0) == 0
    # The refresh token rotated: the file holds the new one.
    assert read_cache(e, cache)["refresh_token"] != saved["refresh_token"]


def test_device_declined(exod_factory, fake):
    fake.knobs(device_interval=0.2)
    e = exod_factory(device_profile(fake)).start()
    s = e.connect()
    s.sendall(b'{"op":"login"}\n')
    f = s.makefile("rb")
    event = json.loads(f.readline())
    fake.device(event["user_code"], "deny")
    err = json.loads(f.readline())
    assert err["error"]["code"] == "AuthFailed" and "declined" in err["error"]["message"]


def test_logout_forgets_the_sign_in(exod_factory, fake, creds):
    fake.knobs(device_interval=0.2)
    e = exod_factory(device_profile(fake)).start()
    login_device(e, fake, creds["user"])
    assert e.request({"op": "logout"})[-1]["type"] == "done"
    assert not os.path.exists(os.path.join(e.dir, "state", "contoso.token"))
    run = e.request({"op": "run", "cmdlet": "Get-Mailbox"})
    assert run[-1]["error"]["code"] == "NeedsLogin"


def test_exoctl_login_shows_the_code_and_waits(exod_factory, fake, creds):
    fake.knobs(device_interval=0.2)
    e = exod_factory(device_profile(fake)).start()

    def approve():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pending = fake.device_pending()
            if pending:
                fake.device(pending[0]["user_code"], "approve", creds["user"])
                return
            time.sleep(0.05)

    t = threading.Thread(target=approve)
    t.start()
    r = e.exoctl("login")
    t.join()
    assert r.returncode == 0, r.stderr
    assert "https://microsoft.com/devicelogin" in r.stderr
    assert creds["user"] in r.stdout + r.stderr


def password_profile(fake, creds, upn, password_file):
    return profile_text("contoso", fake, creds, auth="password", app_id=None,
                        certificate_file=None, certificate_password_file=None,
                        user_principal_name=upn, password_file=password_file)


def test_password_file_signs_in(exod_factory, fake, creds):
    e = exod_factory(password_profile(fake, creds, creds["user"], creds["password_file"])).start()
    run = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 3}})
    assert run[-1]["count"] == 3
    assert fake.counters()["last_token_request"]["grant_type"] in ("password", "refresh_token")


def test_password_mfa_user_needs_login(exod_factory, fake, creds):
    e = exod_factory(password_profile(fake, creds, creds["mfa_user"], creds["password_file"])).start()
    err = e.request({"op": "run", "cmdlet": "Get-Mailbox"})[-1]["error"]
    assert err["code"] == "NeedsLogin"
    assert "50076" in err["message"] and "auth = device" in err["message"]


def test_wrong_password_is_not_retried(exod_factory, fake, creds, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    wrong.chmod(0o600)
    e = exod_factory(password_profile(fake, creds, creds["user"], str(wrong))).start()
    first = e.request({"op": "run", "cmdlet": "Get-Mailbox"})[-1]["error"]
    assert first["code"] == "AuthFailed" and "50126" in first["message"]
    tries = fake.counters()["token_requests"].get("password", 0)
    second = e.request({"op": "run", "cmdlet": "Get-Mailbox"})[-1]["error"]
    assert second["code"] == "AuthFailed"
    assert fake.counters()["token_requests"].get("password", 0) == tries
    r = e.exoctl("run", "Get-Mailbox")
    assert r.returncode == 4
