"""Refresh tokens encrypted at rest: cache_key_file, cache_encryption, and what exod does with a
cache it cannot decrypt (refuses it, says why, keeps the file aside) or finds in plain text
(encrypts it in place)."""

import glob
import json
import os
import shutil
import stat
import subprocess

import pytest

import sealed
from conftest import EXOD, profile_text
from test_delegated import device_profile, login_device, read_cache

CHECK_TIMEOUT_S = 30            # exod -t
SYSTEMD_CREDS = shutil.which("systemd-creds")


def cache_path(e):
    return os.path.join(e.dir, "state", "contoso.token")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_private(path, data):
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)


def signed_in(e, fake, creds):
    """A device login, then the daemon stopped: the cache is what it left behind."""
    fake.knobs(device_interval=0.2)
    e.start()
    login_device(e, fake, creds["user"])
    assert e.stop() == 0


def state(e):
    [p] = e.request({"op": "status"})[-1]["profiles"]
    return p["state"]


def run_ok(e):
    return e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})[-1]


def asides(e):
    return glob.glob(cache_path(e) + ".undecryptable-*")


def check(conf_path, env=None):
    r = subprocess.run([EXOD, "-t", "-c", conf_path], capture_output=True, text=True,
                       timeout=CHECK_TIMEOUT_S, env=dict(os.environ, **(env or {})))
    return r.returncode, r.stderr + r.stdout


def edit_conf(e, old, new):
    with open(e.conf) as f:
        text = f.read()
    assert old in text, text
    with open(e.conf, "w") as f:
        f.write(text.replace(old, new, 1))


def assert_refused_and_kept(e, before, why):
    """exod started without the sign-in, said so naming both files, and kept the old bytes."""
    assert state(e) == "needs_login"
    [aside] = asides(e)
    assert read_bytes(aside) == before
    assert not os.path.exists(cache_path(e))
    log = e.log_text()
    assert ("profile contoso: token cache %s cannot be decrypted: %s; kept it as %s; "
            "sign in again: 'exoctl login -p contoso -s %s'" % (cache_path(e), why, aside, e.socket)
            ) in log, log
    return aside


def test_encrypted_cache_survives_restart(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake))
    signed_in(e, fake, creds)
    data = read_bytes(cache_path(e))
    saved = read_cache(e, cache_path(e))
    # Nothing of the sign-in readable on disk; the key file decrypts it as seal.h describes.
    assert saved["refresh_token"].encode() not in data and creds["user"].encode() not in data
    assert saved["upn"] == creds["user"]
    assert stat.S_IMODE(os.stat(cache_path(e)).st_mode) == 0o600
    fake.reset()
    e.start()
    assert run_ok(e)["type"] == "done"
    c = fake.counters()
    assert c["token_requests"].get("refresh_token", 0) >= 1
    assert c["token_requests"].get("urn:ietf:params:oauth:grant-type:device_code", 0) == 0
    assert "profile contoso: resuming the saved sign-in of %s" % creds["user"] in e.log_text()
    # The rotated token went back to disk, sealed again under the same key.
    assert read_cache(e, cache_path(e))["refresh_token"] != saved["refresh_token"]


def test_wrong_key_after_restart_is_refused_and_the_file_kept(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake))
    signed_in(e, fake, creds)
    before = read_bytes(cache_path(e))
    write_private(e.cache_key, (os.urandom(32).hex() + "\n").encode())
    e.start()
    aside = assert_refused_and_kept(e, before, "it was encrypted under another key than "
                                    "cache_key_file's")
    assert run_ok(e)["error"]["code"] == "NeedsLogin"
    # A new login writes a new file under the new key, and never over the kept one.
    login_device(e, fake, creds["user"])
    assert read_cache(e, cache_path(e))["upn"] == creds["user"]
    assert read_bytes(aside) == before
    assert asides(e) == [aside]


def test_tampered_cache_is_refused_and_kept(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake))
    signed_in(e, fake, creds)
    data = bytearray(read_bytes(cache_path(e)))
    data[40] ^= 0x20                # inside the ciphertext
    write_private(cache_path(e), bytes(data))
    e.start()
    assert_refused_and_kept(e, bytes(data), "it does not authenticate: it was altered, cut "
                            "short, or copied from another profile's file")


def test_truncated_cache_is_refused_and_kept(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake))
    signed_in(e, fake, creds)
    data = read_bytes(cache_path(e))[:30]
    write_private(cache_path(e), data)
    e.start()
    assert_refused_and_kept(e, data, "it is cut short (30 bytes, where an encrypted cache has "
                            "at least 44)")


def test_plain_cache_is_encrypted_on_first_start_with_a_key(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake, cache_encryption="off"))
    signed_in(e, fake, creds)
    with open(cache_path(e)) as f:
        plain = json.load(f)
    assert plain["refresh_token"] and plain["upn"] == creds["user"]
    edit_conf(e, "cache_encryption = off\n", "")
    e.start()
    log = e.log_text()
    assert ("profile contoso: token cache %s was in plain text: encrypted it under "
            "cache_key_file" % cache_path(e)) in log, log
    assert read_cache(e, cache_path(e))["upn"] == creds["user"]
    assert run_ok(e)["type"] == "done"
    assert not glob.glob(cache_path(e) + ".*"), "a temporary or kept file was left behind"


def test_encryption_off_keeps_plain_json_and_says_so(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake, cache_encryption="off"))
    signed_in(e, fake, creds)
    assert ("profile contoso: cache_encryption = off: its refresh token is kept in plain text in "
            "%s" % os.path.join(e.dir, "state")) in e.log_text()
    with open(cache_path(e)) as f:
        assert json.load(f)["upn"] == creds["user"]
    e.start()
    assert run_ok(e)["type"] == "done"
    with open(cache_path(e)) as f:
        assert json.load(f)["refresh_token"]


def test_encrypted_cache_with_encryption_turned_off_is_kept(exod_factory, fake, creds):
    e = exod_factory(device_profile(fake))
    signed_in(e, fake, creds)
    before = read_bytes(cache_path(e))
    edit_conf(e, "[profile contoso]\n", "[profile contoso]\ncache_encryption = off\n")
    e.start()
    assert_refused_and_kept(e, before, "it is encrypted, and this profile has "
                            "cache_encryption = off")


def test_delegated_profile_without_a_key_is_a_configuration_error(tmp_path, fake):
    conf = tmp_path / "exod.conf"
    text = "[exod]\nsocket = %s\nstate_dir = %s\n\n%s" % (
        tmp_path / "s.sock", tmp_path / "state", device_profile(fake))
    conf.write_text(text)
    rc, out = check(str(conf))
    assert rc == 1
    assert ("%s:5: profile contoso: auth = device keeps its refresh token in state_dir, "
            "encrypted (cache_encryption = on, the default), and no cache_key_file names the "
            "key. Make one with \"openssl rand -hex 32 | systemd-creds encrypt --name=cache.key "
            "- /etc/credstore.encrypted/cache.key\"" % conf) in out, out
    assert "or set cache_encryption = off to keep it in plain text" in out
    # Plain text only when asked for.
    conf.write_text(text.replace("auth = device\n", "auth = device\ncache_encryption = off\n"))
    rc, out = check(str(conf))
    assert rc == 0 and "configuration and credentials OK" in out, out
    assert not os.path.exists(tmp_path / "state" / "contoso.token")


def test_app_only_profiles_need_no_key(tmp_path, fake, creds):
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\nstate_dir = %s\n\n%s" % (
        tmp_path / "s.sock", tmp_path / "state", profile_text("contoso", fake, creds)))
    rc, out = check(str(conf))
    assert rc == 0, out


HEX_KEY = b"5f1c0e9a7b3d2f4861a0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8"


@pytest.mark.parametrize("content,mode,says", [
    (HEX_KEY[:63] + b"\n", 0o600, "holds 63 characters and a newline, where a key is 32 raw "
                                  "bytes, 64 hex digits or 44 base64 characters"),
    (HEX_KEY[:32] + b"\n", 0o600, "\"openssl rand -hex 32\" makes one"),
    (HEX_KEY, 0o640, "is readable by group or others (mode 0640)"),
    (bytes(32), 0o600, "the same byte 32 times, which is no key"),
], ids=["63-hex", "16-bytes-in-hex", "group-readable", "all-zero"])
def test_bad_key_files_are_refused_at_start(tmp_path, fake, content, mode, says):
    key = tmp_path / "cache.key"
    write_private(str(key), content)
    os.chmod(key, mode)
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\nstate_dir = %s\ncache_key_file = %s\n\n%s" % (
        tmp_path / "s.sock", tmp_path / "state", key, device_profile(fake)))
    rc, out = check(str(conf))
    assert rc == 1
    assert "%s:4: cache_key_file: cache key file %s " % (conf, key) in out, out
    assert says in out, out


def test_missing_key_file_says_how_to_make_one(tmp_path, fake):
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\nstate_dir = %s\n\n%s" % (
        tmp_path / "s.sock", tmp_path / "state",
        device_profile(fake, cache_key_file="cache.key")))
    creds_dir = tmp_path / "credentials"
    creds_dir.mkdir()
    rc, out = check(str(conf), env={"CREDENTIALS_DIRECTORY": str(creds_dir)})
    assert rc == 1
    assert ("cache_key_file: cache key file %s/cache.key does not exist; \"openssl rand -hex 32\" "
            "makes one" % creds_dir) in out, out


def systemd_creds(*args, **kw):
    return subprocess.run([SYSTEMD_CREDS] + list(args), capture_output=True, timeout=60, **kw)


@pytest.mark.skipif(SYSTEMD_CREDS is None, reason="systemd-creds is not installed")
def test_key_made_with_systemd_creds_as_the_readme_says(exod_factory, fake, creds, tmp_path):
    """README: openssl rand -hex 32 | systemd-creds encrypt --name=cache.key - FILE, and
    LoadCredentialEncrypted=cache.key; systemd then decrypts it into $CREDENTIALS_DIRECTORY.
    Here systemd-creds decrypt plays systemd's part, and the null key (tpm2-absent) stands in for
    the host's key or TPM, so that the test changes nothing on the machine."""
    rand = subprocess.run(["openssl", "rand", "-hex", "32"], capture_output=True, check=True)
    cred = tmp_path / "cache.key.cred"
    r = systemd_creds("encrypt", "--with-key=tpm2-absent", "--name=cache.key", "-", str(cred),
                      input=rand.stdout)
    if r.returncode != 0:
        pytest.skip("systemd-creds encrypt does not work here: %s" % r.stderr.decode().strip())
    creds_dir = tmp_path / "credentials"
    creds_dir.mkdir(mode=0o700)
    r = systemd_creds("decrypt", "--name=cache.key", str(cred), str(creds_dir / "cache.key"))
    assert r.returncode == 0, r.stderr
    os.chmod(creds_dir / "cache.key", 0o400)      # as systemd leaves a credential
    assert read_bytes(creds_dir / "cache.key") == rand.stdout
    e = exod_factory(device_profile(fake, cache_key_file="cache.key"))
    env = {"CREDENTIALS_DIRECTORY": str(creds_dir)}
    fake.knobs(device_interval=0.2)
    e.start(env=env)
    login_device(e, fake, creds["user"])
    assert e.stop() == 0
    data = read_bytes(cache_path(e))
    key = bytes.fromhex(rand.stdout.decode())
    assert json.loads(sealed.unseal(data, key, "contoso"))["upn"] == creds["user"]
    e.start(env=env)
    assert run_ok(e)["type"] == "done"
