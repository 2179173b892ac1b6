"""Test helper: run the simulated Microsoft cloud as a subprocess, drive its control API, make credentials."""

import datetime
import hashlib
import json
import os
import secrets
import selectors
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PYTHON = "/usr/bin/python3"
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_cloud.py")
READY_TIMEOUT = 30           # seconds to wait for the READY line
STOP_TIMEOUT = 10
HTTP_TIMEOUT = 30
CONTOSO = "contoso.onmicrosoft.com"
CONTOSO_ID = "6babcaad-604b-40ac-a9d7-9fd97c0b779f"
FABRIKAM = "fabrikam.onmicrosoft.com"
FABRIKAM_ID = "2f4a9b1c-3d5e-4f60-8a7b-9c0d1e2f3a4b"
EXO_PUBLIC_CLIENT = "fb78d390-0c51-40cd-8e17-fdbfab77341b"


class FakeCloud:
    """FakeCloud(workdir, config=None): config is a dict (written to workdir) or a JSON file path."""

    def __init__(self, workdir, config=None, ready_timeout=READY_TIMEOUT):
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        cmd = [PYTHON, FAKE, "--dir", workdir]
        if isinstance(config, dict):
            path = os.path.join(workdir, "fake-config.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(config, f)
            config = path
        if config:
            cmd += ["--config", config]
        self.log_file = os.path.join(workdir, "fake_cloud.log")
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log,
                                         stdin=subprocess.DEVNULL)
        try:
            self.url = self._wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.ca_file = os.path.join(workdir, "ca.pem")
        self._ctx = ssl.create_default_context(cafile=self.ca_file)
        # Security & Compliance: the front door's URL, and each region's {label: URL}.
        with open(os.path.join(workdir, "compliance.json"), encoding="utf-8") as f:
            info = json.load(f)
        self.compliance_url = info["frontdoor"]
        self.region_urls = info["regions"]

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise RuntimeError("fake cloud not ready after %ss; see %s" % (timeout, self.log_file))
                line = self.proc.stdout.readline().decode()
                if line.startswith("READY "):
                    return line.split()[1]
                if not line:
                    raise RuntimeError("fake cloud exited (%s); see %s"
                                       % (self.proc.wait(), self.log_file))

    # -- raw HTTP -------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, url=None):
        """(status, headers, body bytes); HTTP errors are answers, not exceptions."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        req = urllib.request.Request(url or self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=HTTP_TIMEOUT) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read()

    def _control(self, method, what, body=None):
        status, _, data = self.request(method, "/_fake/" + what, body)
        if status != 200:
            raise RuntimeError("control %s %s: %s %s" % (method, what, status, data[:200]))
        return json.loads(data)

    # -- control API ----------------------------------------------------------------

    def counters(self):
        return self._control("GET", "counters")

    def reset(self):
        return self._control("POST", "reset", {})

    def knobs(self, **kw):
        """Merge knobs (token_lifetime=60, throttle={"count": 2, "retry_after": 1}, ...)."""
        return self._control("POST", "knobs", kw)

    def device_pending(self):
        return self._control("GET", "device")["pending"]

    def device(self, user_code, action="approve", upn=None):
        cmd = {"user_code": user_code, "action": action}
        if upn:
            cmd["upn"] = upn
        return self._control("POST", "device", cmd)

    def browser(self, action="approve", upn=None):
        """What the person at /authorize does from now on: approve (as upn), deny, or None."""
        cmd = {"action": action}
        if upn:
            cmd["upn"] = upn
        return self._control("POST", "authorize", cmd)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# -- credentials -----------------------------------------------------------------------

def _write(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)
    return path


def _self_signed(key, cn):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256()))


def _legacy_pfx(key, cert, password, path, workdir):
    """RC2-40/3DES PKCS#12, as old Windows exports are: needs OpenSSL 3's legacy provider to read."""
    cert_path, key_path = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    pass_path = os.path.join(workdir, "app.pfx.pass")
    try:
        subprocess.run(["openssl", "pkcs12", "-export", "-legacy", "-in", cert_path,
                        "-inkey", key_path, "-out", path, "-passout", "file:" + pass_path],
                       check=True, capture_output=True, timeout=30)
        os.chmod(path, 0o600)
        return "RC2-40-CBC (certificates) / 3DES (key), openssl -legacy"
    except (OSError, subprocess.SubprocessError):
        # No openssl CLI or no legacy provider: 3DES via cryptography is the best we can do.
        enc = (serialization.PrivateFormat.PKCS12.encryption_builder()
               .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
               .hmac_hash(hashes.SHA1()).build(password.encode()))
        _write(path, pkcs12.serialize_key_and_certificates(b"exod", key, cert, None, enc))
        return "3DES (cryptography fallback)"


def make_credentials(dirpath):
    """Create an app with a secret and an RSA certificate (PEM, PFX, legacy PFX), users, and a
    fake config registering them. Returns a dict of paths and values (see README.md)."""
    os.makedirs(dirpath, exist_ok=True)
    app_id = str(uuid.uuid4())
    secret = "fake~" + secrets.token_urlsafe(30)
    pfx_password = secrets.token_urlsafe(12)
    user_password = "Pa55-" + secrets.token_urlsafe(9)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed(key, "exod-test-app")
    der = cert.public_bytes(serialization.Encoding.DER)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    p = {name: os.path.join(dirpath, name) for name in (
        "cert.pem", "key.pem", "app.pfx", "app.pfx.pass", "app-legacy.pfx", "client_secret",
        "password", "fake-config.json")}
    _write(p["cert.pem"], cert_pem, 0o644)
    _write(p["key.pem"], key_pem)
    _write(p["client_secret"], secret)
    _write(p["password"], user_password)
    _write(p["app.pfx.pass"], pfx_password)
    _write(p["app.pfx"], pkcs12.serialize_key_and_certificates(
        b"exod", key, cert, None, serialization.BestAvailableEncryption(pfx_password.encode())))
    legacy = _legacy_pfx(key, cert, pfx_password, p["app-legacy.pfx"], dirpath)
    store = os.path.join(dirpath, "store")
    os.makedirs(store, mode=0o700, exist_ok=True)
    _write(os.path.join(store, "exod-test-app.pem"), cert_pem + key_pem)
    admin, mfa = "admin@" + CONTOSO, "mfa@" + CONTOSO
    config = {
        "tenants": [
            {"name": CONTOSO, "id": CONTOSO_ID, "mailboxes": 25, "users": [
                {"upn": admin, "password": user_password},
                {"upn": mfa, "password": user_password, "mfa": True},
                {"upn": "locked@" + CONTOSO, "password": user_password, "locked": True},
                {"upn": "disabled@" + CONTOSO, "password": user_password, "disabled": True},
                {"upn": "reader@" + CONTOSO, "password": user_password, "admin": False}]},
            {"name": FABRIKAM, "id": FABRIKAM_ID, "mailboxes": 10, "users": [
                {"upn": "admin@" + FABRIKAM, "password": user_password}]}],
        "apps": [{"app_id": app_id, "tenant": CONTOSO, "secret": secret,
                  "certificates": [p["cert.pem"]]}],
    }
    _write(p["fake-config.json"], json.dumps(config, indent=2), 0o644)
    return {
        "app_id": app_id, "tenant": CONTOSO, "tenant_id": CONTOSO_ID,
        "partner_tenant": FABRIKAM, "partner_tenant_id": FABRIKAM_ID,
        "public_client_id": EXO_PUBLIC_CLIENT,
        "client_secret": secret, "client_secret_file": p["client_secret"],
        "cert_pem": p["cert.pem"], "key_pem": p["key.pem"],
        "pfx": p["app.pfx"], "pfx_password": pfx_password, "pfx_password_file": p["app.pfx.pass"],
        "pfx_legacy": p["app-legacy.pfx"], "pfx_legacy_encryption": legacy,
        "certificate_store": store,
        "thumbprint": hashlib.sha1(der).hexdigest().upper(),
        "user": admin, "mfa_user": mfa, "password": user_password, "password_file": p["password"],
        "config": p["fake-config.json"],
    }
