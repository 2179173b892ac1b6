"""make bench: exod's figures against the budgets of DESIGN.md §6, with nginx as a fast upstream.

Starts nginx on 127.0.0.1 (TLS with a CA made for the run, HTTP/2 and HTTP/1.1, keepalive)
serving a canned token endpoint and canned InvokeCommand pages, then exod on private sockets, and
measures, each beside its reference: instructions per request (exod and a bare libcurl client,
HTTP/1.1 and HTTP/2), throughput at the pool cap (exod, a libcurl multi client, h2load), token
rollover, exoctl's instructions per run (and true's), memory from smaps_rollup (idle and
streaming) and round trips. Prints one table; a missed budget is a verdict in the table, never an
exit status. Exits non-zero only when the benchmark could not run. Everything it starts is stopped
and its temp directory removed, also on Ctrl-C. See tests/bench/README.md."""

import argparse
import base64
import datetime
import ipaddress
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TENANT = "contoso.onmicrosoft.com"
INVOKE_PATH = "/adminapi/beta/%s/InvokeCommand" % TENANT
TOKEN_PATH = "/%s/oauth2/v2.0/token" % TENANT

RUNS = 5                        # every figure is the median of this many runs
PAGE_RECORDS = 1000             # records per InvokeCommand page, the service's maximum
STREAM_SIZES = (100_000, 1_000_000)
PROTOCOLS = ("1.1", "2")        # exod's http_version values, and the direct clients' -v
LATENCY_EXOCTL_CALLS = 40       # exoctl invocations per run (hyperfine --runs)
LATENCY_COLD_CALLS = 20         # cold curl invocations per run
LATENCY_SOCKET_CALLS = 300      # requests per run on one socket / one upstream connection
THROUGHPUT_SECONDS = 3
WARMUP_SECONDS = 0.5            # curlload and h2load: handshakes before the measured window
THROUGHPUT_CAPS = (3, 16)       # max_connections: the default, and a higher cap
CLIENTS_PER_SLOT = 8            # socket clients per pool slot: keeps the queue full
MANY_PROFILES = 1000
IDLE_RUNS = 3                   # fresh exod starts per idle figure
IDLE_SETTLE = 3.0               # s after the last token: exod gives freed heap back after 2 s quiet
STREAM_RUNS = 3                 # streams per size: a million records take half a minute
SMAPS_INTERVAL = 0.05           # s between smaps_rollup samples while a stream runs
ROLLOVER_LIFETIME = 4           # s: the short token's expires_in; exod refreshes at half-life
CALLGRIND_REQUESTS = 200
CALLGRIND_RUNS = 3              # callgrind counts instructions, so runs differ very little
START_TIMEOUT = 60              # s for exod (under callgrind: x4) to answer and hold tokens

# DESIGN.md §6
BUDGET_IR_RATIO = 1.3           # exod / bare libcurl client, instructions per request
BUDGET_THROUGHPUT_RATIO = 0.9   # exod / curlload at the pool cap
BUDGET_EXOCTL_IR = 250_000      # instructions per exoctl run
BUDGET_SOCKET_OVERHEAD_MS = 0.2  # raw socket round trip beyond the direct one
BUDGET_STREAM_MIB = 32
BUDGET_FLAT_GROWTH = 0.10       # "flat": 1M records peak within 10 % of the 100k peak
BUDGET_IDLE_PSS_MIB = 5
BUDGET_IDLE_ANON_MIB = 2
BUDGET_PROFILE_ANON_KIB = 24


class BenchError(Exception):
    """The benchmark could not run."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# --- the run's processes and files -------------------------------------------------------

class Reaper:
    """Every process bench.py starts in its own session, stopped at the end whatever happens."""

    def __init__(self):
        self.procs = []

    def spawn(self, cmd, **kw):
        p = subprocess.Popen(cmd, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=30):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p, timeout=10)


def on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def free_ports(n):
    """Ports the kernel hands out now; nginx binds them a moment later (loopback, one run)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError("nginx exited with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise BenchError("nginx did not listen on port %d" % port)


def rss_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise BenchError("no %s in /proc/%d/status" % (field, pid))


def reset_peak(pid):
    """Resets VmHWM to the current RSS (Linux 4.0+); False where the kernel refuses."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# --- TLS material, canned answers, nginx --------------------------------------------------

def make_tls(d):
    """A CA and a server certificate for 127.0.0.1, made for this run."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "exod bench CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {n: os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.pem"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(paths["server.key"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt(app_id):
    """Shaped like an Exchange app-only token; nothing here verifies its signature."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5t": b64url(os.urandom(20))}
    claims = {"aud": "https://outlook.office365.com", "iss": "https://sts.windows.net/%s/" % uuid.uuid4(),
              "iat": now, "nbf": now, "exp": now + 3600, "appid": app_id, "roles": ["Exchange.ManageAsApp"],
              "tid": str(uuid.uuid4()), "ver": "1.0"}
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()),
                     b64url(os.urandom(256))])


def mailbox(i):
    """A realistic Get-Mailbox record of about 1 KB."""
    name = "user%06d" % i
    smtp = "%s@%s" % (name, TENANT)
    guid = str(uuid.UUID(int=(0x5eed << 64) + i))
    return {
        "Name": name, "Alias": name, "DisplayName": "User %06d" % i,
        "PrimarySmtpAddress": smtp, "UserPrincipalName": smtp,
        "RecipientType": "UserMailbox", "RecipientTypeDetails": "UserMailbox",
        "EmailAddresses": ["SMTP:" + smtp, "smtp:%s@contoso.mail.onmicrosoft.com" % name,
                           "SPO:SPO_%s@SPO_%s" % (guid, guid)],
        "ExchangeGuid": guid, "Guid": guid, "ExternalDirectoryObjectId": guid,
        "Identity": name, "Id": name,
        "DistinguishedName": "CN=%s,OU=%s,OU=Microsoft Exchange Hosted Organizations,"
                             "DC=EURPR01A001,DC=prod,DC=outlook,DC=com" % (name, TENANT),
        "Database": "EURPR01DG%03d-db%03d" % (i % 97, i % 211),
        "ServerName": "am%dpr01mb%04d" % (i % 9, i % 9999),
        "ArchiveStatus": "None", "HiddenFromAddressListsEnabled": False,
        "ProhibitSendQuota": "99 GB (106,300,440,576 bytes)",
        "ProhibitSendReceiveQuota": "100 GB (107,374,182,400 bytes)",
        "IssueWarningQuota": "98 GB (105,226,698,752 bytes)",
        "LitigationHoldEnabled": False, "RetentionPolicy": "Default MRM Policy",
        "WhenCreated": "2023-0%d-1%dT08:%02d:00+00:00" % (1 + i % 9, i % 10, i % 60),
        "WhenChangedUTC": "2024-11-0%dT10:%02d:00Z" % (1 + i % 9, i % 60),
        "IsMailboxEnabled": True, "UsageLocation": "Germany",
    }


def page_head(port):
    """An InvokeCommand page up to the end of its "value" array; the tail comes from nginx."""
    ctx = "https://127.0.0.1:%d/adminapi/beta/%s/$metadata#Collection(Exchange.GenericHashTable)" % (port, TENANT)
    head = json.dumps({"@odata.context": ctx, "adminapi.warnings@odata.type": "#Collection(String)",
                       "@adminapi.warnings": []}, separators=(",", ":"))[:-1]
    records = ",".join(json.dumps(mailbox(i), separators=(",", ":")) for i in range(PAGE_RECORDS))
    return head + ',"value":[' + records + "]"


def nginx_string(text):
    """A single-quoted nginx string; '$' goes through the $dollar variable."""
    if "'" in text or "\\" in text:
        raise BenchError("canned text holds a quote or backslash")
    return "'" + text.replace("$", "${dollar}") + "'"


def nginx_conf(work, tls, ports, token, short_token):
    """One nginx, several loopback servers: token endpoints, a one-record answer, paged answers.

    The probe server gives the same one-record answer and logs the protocol of each request, so
    the bench can see which protocol exod speaks upstream."""
    small = json.dumps({"@odata.context": "https://127.0.0.1:%d/adminapi/beta/%s/$metadata#Collection("
                        "Exchange.GenericHashTable)" % (ports["small"], TENANT),
                        "adminapi.warnings@odata.type": "#Collection(String)",
                        "@adminapi.warnings": [], "value": [mailbox(0)]}, separators=(",", ":"))
    tok = json.dumps({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                      "access_token": token}, separators=(",", ":"))
    short = json.dumps({"token_type": "Bearer", "expires_in": ROLLOVER_LIFETIME,
                        "ext_expires_in": ROLLOVER_LIFETIME, "access_token": short_token},
                       separators=(",", ":"))
    # Page k links to k+1; the last page closes the object without a link. The map's key is the
    # raw query, since $arg_ cannot name the "$skiptoken" argument. Every page serves
    # the same records file, so a million records take 1 MB of disk.
    tails = []
    for size, key in zip(STREAM_SIZES, ("p100k", "p1m")):
        port, pages = ports[key], size // PAGE_RECORDS
        for k in range(1, pages + 1):
            arg = "" if k == 1 else "$skiptoken=%d" % k
            if k == pages:
                tail = "}"
            else:
                tail = ',"@odata.nextLink":"https://127.0.0.1:%d%s?$skiptoken=%d"}' % (port, INVOKE_PATH, k + 1)
            tails.append("        \"%d:%s\" %s;" % (port, arg, nginx_string(tail)))
    n = os.path.join(work, "nginx")
    token_loc = "        location = %s { return 200 %s; }\n" % (TOKEN_PATH, nginx_string(tok))
    listen = "        listen 127.0.0.1:%d ssl http2;\n"
    # A real service reads the whole request before it answers. nginx's "return" answers first
    # and then resets the HTTP/2 stream (RST_STREAM NO_ERROR), which libcurl 7.88 sometimes
    # reports as a failed transfer. mirror_request_body makes nginx read the body first; the
    # static handler then refuses the POST of the (empty) file with 405, which error_page turns
    # into the canned answer.
    read_body = ("        location = %s {\n"
                 "            mirror /sink;\n"
                 "            mirror_request_body on;\n"
                 "            error_page 405 =200 @answer;\n"
                 "        }\n"
                 "        location = /sink { internal; return 204; }\n" % INVOKE_PATH)
    return """worker_processes 1;
daemon off;
pid {n}/nginx.pid;
error_log {n}/error.log warn;
worker_rlimit_nofile 16384;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {n}/tmp/body;
    proxy_temp_path {n}/tmp/proxy;
    fastcgi_temp_path {n}/tmp/fastcgi;
    uwsgi_temp_path {n}/tmp/uwsgi;
    scgi_temp_path {n}/tmp/scgi;
    keepalive_timeout 600s;
    keepalive_requests 100000000;
    client_max_body_size 1m;
    default_type application/json;
    root {www};
    open_file_cache max=16 inactive=1h;
    open_file_cache_valid 1h;
    log_not_found off;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    log_format proto '$server_protocol';
    geo $dollar {{ default "$"; }}
    map "$server_port:$args" $page_tail {{
        default ']';
{tails}
    }}
    server {{
{listen_token}{token_loc}        location / {{ return 404; }}
    }}
    server {{
{listen_short}        location = {token_path} {{ return 200 {short}; }}
        location / {{ return 404; }}
    }}
    server {{
{listen_small}{token_loc}{read_body}        location @answer {{ return 200 {small}; }}
        location / {{ return 404; }}
    }}
    server {{
{listen_probe}        access_log {n}/protocol.log proto;
{token_loc}{read_body}        location @answer {{ return 200 {small}; }}
        location / {{ return 404; }}
    }}
    server {{
{listen_p100k}{listen_p1m}{token_loc}{read_body}        location @answer {{
            ssi on;
            ssi_types application/json;
            return 200 '<!--# include virtual="/pages/head.json" -->$page_tail';
        }}
        location /pages/ {{ internal; alias {www}/; }}
        location / {{ return 404; }}
    }}
}}
""".format(n=n, cert=tls["server.pem"], key=tls["server.key"], tails="\n".join(tails),
           listen_token=listen % ports["token"], listen_short=listen % ports["short"],
           listen_small=listen % ports["small"], listen_p100k=listen % ports["p100k"],
           listen_p1m=listen % ports["p1m"], listen_probe=listen % ports["probe"],
           token_loc=token_loc, token_path=TOKEN_PATH,
           short=nginx_string(short), read_body=read_body, small=nginx_string(small),
           www=os.path.join(work, "www"))


def start_nginx(reaper, work, tls, ports, token, short_token):
    n = os.path.join(work, "nginx")
    www = os.path.join(work, "www")
    os.makedirs(os.path.join(n, "tmp"))
    os.makedirs(www)
    with open(os.path.join(www, "head.json"), "w") as f:
        f.write(page_head(ports["p100k"]))
    invoke = os.path.join(www, INVOKE_PATH.lstrip("/"))
    os.makedirs(os.path.dirname(invoke))
    open(invoke, "w").close()
    # nginx's workers drop to an unprivileged user when started as root: they must reach www.
    os.chmod(work, 0o711)
    for d, _, files in os.walk(www):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    conf = os.path.join(n, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(work, tls, ports, token, short_token))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    cmd = [nginx, "-e", os.path.join(n, "error.log"), "-p", n, "-c", conf]
    t = subprocess.run(cmd + ["-t", "-q"], capture_output=True, text=True)
    if t.returncode != 0:
        raise BenchError("nginx -t: " + (t.stderr or t.stdout).strip())
    errf = open(os.path.join(n, "stderr.log"), "wb")
    p = reaper.spawn(cmd, stdout=errf, stderr=errf)
    errf.close()
    for port in ports.values():
        wait_port(port, p)
    return p


# --- exod -----------------------------------------------------------------------------------

def check_pages(ctx):
    """The canned chain: page 1 links to page 2, the last page has no link, records are whole."""
    import http.client
    import ssl
    tls = ssl.create_default_context(cafile=ctx.tls["ca.pem"])
    for size, key in zip(STREAM_SIZES, ("p100k", "p1m")):
        pages = size // PAGE_RECORDS
        conn = http.client.HTTPSConnection("127.0.0.1", ctx.ports[key], context=tls, timeout=30)
        for k, want in ((1, 2), (pages, None)):
            query = "" if k == 1 else "?$skiptoken=%d" % k
            conn.request("POST", INVOKE_PATH + query, body=ctx.body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            try:
                page = json.loads(r.read())
            except ValueError as e:
                raise BenchError("canned page %d of %d is not JSON: %s" % (k, pages, e))
            link = page.get("@odata.nextLink")
            got = int(link.rsplit("=", 1)[1]) if link else None
            if r.status != 200 or len(page["value"]) != PAGE_RECORDS or got != want:
                raise BenchError("canned page %d of %d: HTTP %d, %d records, next %s"
                                 % (k, pages, r.status, len(page["value"]), got))
        conn.close()


class Exod:
    """exod on a private socket with secret profiles against the canned upstream.

    Every profile gets ctx.profile_keys (the http_version that --http-version forces) unless
    its own keys say otherwise."""

    def __init__(self, ctx, name, profiles, wrapper=None, extra=""):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work, "exod-" + name)
        os.makedirs(os.path.join(self.dir, "state"), mode=0o700)
        self.socket = os.path.join(self.dir, "exod.sock")
        self.conf = os.path.join(self.dir, "exod.conf")
        self.log = os.path.join(self.dir, "exod.log")
        self.nprofiles = len(profiles)
        self.wrapper = wrapper or []
        text = ["[exod]", "socket = " + self.socket, "state_dir = " + os.path.join(self.dir, "state"),
                "log_level = info", "max_clients = 4096", ""]
        for pname, keys in profiles:
            text.append("[profile %s]" % pname)
            base = {"organization": TENANT, "auth": "secret", "app_id": ctx.app_id,
                    "client_secret_file": ctx.secret_file, "ca_file": ctx.tls["ca.pem"],
                    "connection_uri": "https://127.0.0.1:%d" % ctx.ports["small"],
                    "authority_uri": "https://127.0.0.1:%d" % ctx.ports["token"]}
            base.update(ctx.profile_keys)
            base.update(keys)
            text += ["%s = %s" % kv for kv in base.items()] + [""]
        text.append(extra)
        with open(self.conf, "w") as f:
            f.write("\n".join(text))
        self.proc = None

    def check(self):
        """exod -t on this configuration: (exit status, what it said)."""
        r = subprocess.run([self.ctx.exod, "-t", "-c", self.conf], capture_output=True, text=True,
                           timeout=60)
        return r.returncode, (r.stderr + r.stdout).strip()

    def start(self, timeout=START_TIMEOUT, env=None):
        logf = open(self.log, "ab")
        self.proc = self.ctx.reaper.spawn(self.wrapper + [self.ctx.exod, "-c", self.conf],
                                          stdout=logf, stderr=logf,
                                          env=dict(os.environ, **env) if env else None)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("exod exited with %d:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                profiles = self.request({"op": "status"})[-1].get("profiles", [])
                if len(profiles) == self.nprofiles and all(p["state"] == "connected" for p in profiles):
                    return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise BenchError("exod did not hold %d tokens within %d s:\n%s"
                         % (self.nprofiles, timeout, self.log_tail()))

    def request(self, obj, timeout=60):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket)
            s.sendall((json.dumps(obj) + "\n").encode())
            lines = []
            for raw in s.makefile("rb"):
                lines.append(json.loads(raw))
                if lines[-1].get("type") in ("done", "error"):
                    break
            return lines

    def metrics(self, profile):
        return self.request({"op": "metrics"})[-1]["metrics"]["profiles"][profile]

    def log_tail(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            rc = self.ctx.reaper.stop(self.proc, timeout=120)
            if rc != 0:
                log("exod exited with %s:\n%s" % (rc, self.log_tail()))


def proto_name(v):
    return "HTTP/" + v


def seen_protocol(ctx, name, keys):
    """The protocol nginx logged for exod's requests with these profile keys: "1.1" or "2"."""
    logfile = os.path.join(ctx.work, "nginx", "protocol.log")
    start = os.path.getsize(logfile) if os.path.exists(logfile) else 0
    e = Exod(ctx, name, [("contoso", dict(keys, connection_uri="https://127.0.0.1:%d"
                                          % ctx.ports["probe"]))]).start()
    loadgen(ctx, e.socket, 1, requests=2)
    e.stop()
    with open(logfile) as f:
        f.seek(start)
        seen = {line.strip() for line in f if line.strip()}
    names = {"HTTP/1.1": "1.1", "HTTP/2.0": "2"}
    if len(seen) != 1 or not seen <= names.keys():
        raise BenchError("exod (%s) spoke %s to nginx" % (keys or "default", sorted(seen) or "nothing"))
    return names[seen.pop()]


def probe_exod(ctx, forced):
    """Whether exod knows http_version, which protocol it speaks by default, and what the run uses.

    exod refuses unknown keys, so exod -t on a configuration with the key tells. Each value the
    key takes is checked against what nginx sees."""
    ctx.profile_keys = {}
    base_rc, base_out = Exod(ctx, "check-plain", [("contoso", {})]).check()
    if base_rc != 0:
        raise BenchError("exod -t refuses the bench's configuration: " + base_out)
    rc, out = Exod(ctx, "check-key", [("contoso", {"http_version": "2"})]).check()
    ctx.has_key = rc == 0
    if not ctx.has_key:
        log("exod has no http_version key (%s): measuring its default protocol only" % out)
    ctx.default_proto = seen_protocol(ctx, "probe-default", {})
    if ctx.has_key:
        for v in PROTOCOLS:
            got = seen_protocol(ctx, "probe-" + v, {"http_version": v})
            if got != v:
                raise BenchError("exod with http_version = %s spoke HTTP/%s" % (v, got))
    if forced and not ctx.has_key:
        raise BenchError("--http-version %s: this exod has no http_version key" % forced)
    ctx.proto = forced or ctx.default_proto
    ctx.profile_keys = {"http_version": forced} if forced else {}


def exod_label(ctx, v):
    """How exod was configured for a protocol: by the key, or by its default."""
    if v is None:
        return "exod, default (%s)" % proto_name(ctx.default_proto)
    return "exod, http_version = %s" % v


# --- load tools -----------------------------------------------------------------------------

HELPERS = (("loadgen", False), ("directcurl", True), ("curlload", True))   # True: on libcurl


def build_helpers(work):
    out = {}
    cflags = ["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE"]
    curl = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl"], capture_output=True, text=True)
    for name, uses_curl in HELPERS:
        out[name] = os.path.join(work, name)
        srcs = [os.path.join(HERE, name + ".c")]
        if uses_curl:
            srcs.append(os.path.join(HERE, "benchcurl.c"))
        r = subprocess.run([os.environ.get("CC", "cc")] + cflags + srcs + ["-o", out[name]]
                           + (curl.stdout.split() if uses_curl else []), capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError("cannot build %s.c:\n%s" % (name, r.stderr))
    return out


def parse_kv(text):
    """'requests 10 errors 0 p50_us 12.5' -> dict of floats."""
    words = text.split()
    return {words[i]: float(words[i + 1]) for i in range(0, len(words) - 1, 2)}


def run_tool(cmd, timeout=300, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.stderr and r.returncode == 0:
        log("%s: %s" % (os.path.basename(cmd[0]), r.stderr.strip()[-500:]))
    if r.returncode != 0:
        raise BenchError("%s failed (%d): %s" % (os.path.basename(cmd[0]), r.returncode,
                                                  (r.stderr or r.stdout).strip()[-2000:]))
    return r.stdout


def loadgen(ctx, sock, conns, seconds=None, requests=None):
    cmd = [ctx.helpers["loadgen"], "-s", sock, "-c", str(conns)]
    cmd += ["-d", str(seconds)] if seconds else ["-n", str(requests)]
    return parse_kv(run_tool(cmd))


def time_command(ctx, cmd, calls, env=None):
    """Median wall time of a command in seconds: hyperfine without a shell, else a plain loop."""
    if shutil.which("hyperfine"):
        out = os.path.join(ctx.work, "hyperfine.json")
        run_tool(["hyperfine", "-N", "--style", "none", "--warmup", "3", "--runs", str(calls),
                  "--export-json", out, "--", shlex.join(cmd)], env=env)
        with open(out) as f:
            res = json.load(f)["results"][0]
        if any(code != 0 for code in res.get("exit_codes", [])):
            raise BenchError("%s failed under hyperfine" % cmd[0])
        return res["median"]
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
        times.append(time.perf_counter() - t0)
    return median(times)


def upstream_headers(ctx):
    """The headers exod puts on an InvokeCommand (exo.c: exo_auth_headers, exo_headers), in its
    order. User-Agent and Accept-Encoding come from libcurl options (see curl_options)."""
    return ["Authorization: Bearer " + ctx.token, "Accept: application/json",
            "X-ClientApplication: ExoManagementModule",
            "X-AnchorMailbox: UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@" + TENANT,
            "connection-id: " + ctx.connection_id, "client-request-id: " + str(uuid.uuid4()),
            "Content-Type: application/json", "X-ResponseFormat: json",
            "X-SerializationLevel: Partial", "X-CmdletName: Get-Mailbox",
            "Prefer: odata.maxpagesize=1000"]


def curl_options(ctx, proto):
    """directcurl's and curlload's options: the protocol and exod's user agent (they set gzip)."""
    return ["-v", proto, "-A", ctx.agent]


def small_url(ctx):
    return "https://127.0.0.1:%d%s" % (ctx.ports["small"], INVOKE_PATH)


def directcurl_cmd(ctx, proto, requests):
    return ([ctx.helpers["directcurl"]] + curl_options(ctx, proto)
            + [small_url(ctx), ctx.tls["ca.pem"], ctx.body, str(requests)] + upstream_headers(ctx))


def check_spoke(tool, got, proto):
    """A direct client that fell back to another protocol would compare the wrong things."""
    if "%g" % got["http"] != proto:
        raise BenchError("%s asked for HTTP/%s and spoke HTTP/%g" % (tool, proto, got["http"]))


def curlload_rps(ctx, proto, conc, seconds):
    cmd = ([ctx.helpers["curlload"]] + curl_options(ctx, proto) + ["-w", str(WARMUP_SECONDS)]
           + [small_url(ctx), ctx.tls["ca.pem"], ctx.body, str(conc), str(seconds)]
           + upstream_headers(ctx))
    got = parse_kv(run_tool(cmd))
    check_spoke("curlload", got, proto)
    if got["errors"]:
        raise BenchError("curlload: %d requests failed" % got["errors"])
    want = 1 if proto == "2" else conc
    if got["connects"] != want:
        log("curlload opened %d connections, not %d" % (got["connects"], want))
    return got["rps"]


def h2load_rps(ctx, proto, conc, seconds):
    """h2load at exod's concurrency: one HTTP/2 connection with conc streams, or conc HTTP/1.1
    connections with one request each."""
    shape = ["-c", "1", "-m", str(conc)] if proto == "2" else ["--h1", "-c", str(conc), "-m", "1"]
    cmd = ["h2load"] + shape + ["-t", "1", "-D", str(seconds), "--warm-up-time",
                                "%dms" % (WARMUP_SECONDS * 1000), "-d", ctx.body_file]
    for h in upstream_headers(ctx) + ["User-Agent: " + ctx.agent, "Accept-Encoding: gzip"]:
        cmd += ["-H", h]
    out = run_tool(cmd + [small_url(ctx)])
    rps = None
    for line in out.splitlines():
        if line.startswith("requests:"):
            failed = int(line.split(",")[4].split()[0])
            if failed:
                raise BenchError("h2load: %d requests failed" % failed)
        if line.startswith("finished in"):
            rps = float(line.split(",")[1].split()[0])
        if line.startswith("Application protocol:") and line.split()[-1] != ("h2" if proto == "2" else "http/1.1"):
            raise BenchError("h2load spoke %s, not HTTP/%s" % (line.split()[-1], proto))
    if rps is None:
        raise BenchError("cannot read h2load's output:\n" + out)
    return rps


def callgrind(ctx, name, cmd, env=None, timeout=600):
    """Runs cmd under callgrind (the process itself, not its children): its total Ir."""
    out = os.path.join(ctx.work, "callgrind.%s.out" % name)
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd,
                       capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        raise BenchError("%s under callgrind failed (%d): %s" % (os.path.basename(cmd[0]), r.returncode,
                                                               r.stderr.strip()[-2000:]))
    return callgrind_total(out), r.stdout


def callgrind_total(out):
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise BenchError("no totals in " + out)


class SmapsPeak(threading.Thread):
    """Samples /proc/PID/smaps_rollup every SMAPS_INTERVAL s and keeps the peaks (KiB)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = {"Pss": 0, "Anonymous": 0}
        self.halt = threading.Event()
        self.samples = 0

    def sample(self):
        for k, v in smaps_rollup(self.pid).items():
            self.peak[k] = max(self.peak[k], v)
        self.samples += 1

    def run(self):
        while not self.halt.wait(SMAPS_INTERVAL):
            try:
                self.sample()
            except OSError:
                return

    def __enter__(self):
        self.sample()
        self.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.join()
        self.sample()


def smaps_rollup(pid):
    """Pss and Anonymous of a process in KiB: what its pages cost, shared pages divided among
    the processes that map them, and what belongs to it alone."""
    got = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k = line.split(":", 1)[0]
            if k in ("Pss", "Anonymous"):
                got[k] = int(line.split()[1])
    if len(got) != 2:
        raise BenchError("no Pss/Anonymous in /proc/%d/smaps_rollup" % pid)
    return got


def exoctl_env(ctx, sock):
    """exoctl reaches this exod and reads no user configuration."""
    env = dict(os.environ, EXOD_SOCKET=sock, XDG_CONFIG_HOME=os.path.join(ctx.work, "xdg"))
    env.pop("EXOD_PROFILE", None)
    return env


# --- the figures ----------------------------------------------------------------------------

class Ctx:
    pass


def exod_ir(ctx, name, keys, requests, extra=""):
    """Total Ir of exod under callgrind serving 1 + requests small requests, one after another."""
    out = os.path.join(ctx.work, "callgrind.%s.out" % name)
    wrapper = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
    e = Exod(ctx, name, [("contoso", keys)], wrapper=wrapper, extra=extra).start(timeout=START_TIMEOUT * 4)
    # One warm-up request in every run: it opens the upstream connection the others reuse.
    loadgen(ctx, e.socket, 1, requests=1 + requests)
    e.stop()
    return callgrind_total(out)


def direct_ir(ctx, name, proto, requests):
    """Total Ir of directcurl sending 1 + requests POSTs on one connection (plus its own warm-up)."""
    ir, out = callgrind(ctx, name, directcurl_cmd(ctx, proto, 1 + requests))
    check_spoke("directcurl", parse_kv(out), proto)
    return ir


def per_request(run):
    """(Ir of 1 + N requests - Ir of 1 request) / N for each of CALLGRIND_RUNS runs: the median."""
    per = []
    for i in range(CALLGRIND_RUNS):
        base = run("base%d" % i, 0)
        full = run("run%d" % i, CALLGRIND_REQUESTS)
        per.append((full - base) / CALLGRIND_REQUESTS)
    return median(per)


def bench_callgrind(ctx, rows):
    log("1. instructions per request (callgrind)")
    rows.append(("1. instructions per small request (callgrind, %d warm requests)" % CALLGRIND_REQUESTS,
                 None, None, None))
    if not shutil.which("valgrind"):
        rows.append(("   valgrind missing", "-", "", "-"))
        return
    # With the key, exod on each protocol; without it, exod as it is, on the protocol nginx saw.
    configs = [(v, v) for v in PROTOCOLS] if ctx.has_key else [(None, ctx.default_proto)]
    for key, proto in configs:
        bare = per_request(lambda n, r: direct_ir(ctx, "direct%s-%s" % (proto, n), proto, r))
        keys = {"http_version": key} if key else {}
        ex = per_request(lambda n, r: exod_ir(ctx, "exod%s-%s" % (key or "default", n), keys, r))
        ratio = ex / bare
        is_default = proto == ctx.default_proto
        rows.append(("   bare libcurl client (directcurl), %s" % proto_name(proto), "%.0f" % bare, "", ""))
        rows.append(("   " + exod_label(ctx, key), "%.0f" % ex, "", ""))
        if is_default:
            rows.append(("   exod / bare client, %s (exod's default)" % proto_name(proto), "%.2f" % ratio,
                         "<= %.1f" % BUDGET_IR_RATIO, verdict(ratio <= BUDGET_IR_RATIO)))
        else:
            rows.append(("   exod / bare client, %s" % proto_name(proto), "%.2f" % ratio, "", "-"))
    if not ctx.has_key:
        other = [v for v in PROTOCOLS if v != ctx.default_proto][0]
        bare = per_request(lambda n, r: direct_ir(ctx, "direct%s-%s" % (other, n), other, r))
        rows.append(("   bare libcurl client (directcurl), %s" % proto_name(other), "%.0f" % bare, "", ""))


def proc_cpu_s(pid):
    """User + system CPU seconds a process has used (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_throughput(ctx, rows):
    log("2. throughput")
    proto = ctx.proto
    have_h2load = shutil.which("h2load") is not None
    rows.append(("2. throughput at the pool cap, Get-Mailbox -ResultSize 1, %s" % proto_name(proto),
                 None, None, None))
    for cap in THROUGHPUT_CAPS:
        e = Exod(ctx, "tp%d" % cap, [("contoso", {"max_connections": cap,
                                                  "queue_limit": cap * CLIENTS_PER_SLOT})]).start()
        clients = cap * CLIENTS_PER_SLOT
        loadgen(ctx, e.socket, clients, seconds=1)
        before = e.metrics("contoso")
        via, curl, h2, errors = [], [], [], 0
        exod_us, curl_us = [], []
        # Interleaved, so that the host's other load falls on exod and the references alike.
        for i in range(RUNS):
            cpu0 = proc_cpu_s(e.proc.pid)
            r = loadgen(ctx, e.socket, clients, seconds=THROUGHPUT_SECONDS)
            exod_us.append((proc_cpu_s(e.proc.pid) - cpu0) / max(r["requests"], 1) * 1e6)
            via.append(r["requests"] / r["seconds"])
            errors += int(r["errors"])
            cpu0 = children_cpu_s()
            curl.append(curlload_rps(ctx, proto, cap, THROUGHPUT_SECONDS))
            # curlload's CPU includes its warm-up; its rate times the window is close to its count.
            curl_us.append((children_cpu_s() - cpu0) /
                           max(curl[-1] * (THROUGHPUT_SECONDS + WARMUP_SECONDS), 1) * 1e6)
            if have_h2load:
                h2.append(h2load_rps(ctx, proto, cap, THROUGHPUT_SECONDS))
        after = e.metrics("contoso")
        e.stop()
        shape = "1 conn x %d streams" % cap if proto == "2" else "%d conns" % cap
        h2cmd = "h2load -c1 -m%d" % cap if proto == "2" else "h2load --h1 -c%d" % cap
        rows.append(("   cap %d: exod, %d socket clients (loadgen)" % (cap, clients),
                     "%.0f req/s" % median(via), "", ""))
        rows.append(("   cap %d: libcurl multi (curlload), %s" % (cap, shape), "%.0f req/s" % median(curl),
                     "", ""))
        rows.append(("   cap %d: CPU a request, exod / curlload" % cap,
                     "%.0f / %.0f us" % (median(exod_us), median(curl_us)), "", ""))
        if have_h2load:
            rows.append(("   cap %d: %s" % (cap, h2cmd), "%.0f req/s" % median(h2), "", ""))
        ratio = median([a / b for a, b in zip(via, curl)])
        rows.append(("   cap %d: exod / curlload" % cap, "%.2f" % ratio,
                     ">= %.1f" % BUDGET_THROUGHPUT_RATIO, verdict(ratio >= BUDGET_THROUGHPUT_RATIO)))
        if have_h2load:
            rows.append(("   cap %d: exod / h2load" % cap, "%.2f" % median([a / b for a, b in zip(via, h2)]),
                         "", "-"))
        else:
            rows.append(("   cap %d: exod / h2load" % cap, "h2load missing", "", "-"))
        failed = errors + after["failures"] - before["failures"]
        rows.append(("   cap %d: exod requests failed" % cap, "%d" % failed, "0", verdict(failed == 0)))


def bench_rollover(ctx, rows):
    log("2b. token rollover under load")
    e = Exod(ctx, "rollover", [("contoso", {"authority_uri": "https://127.0.0.1:%d" % ctx.ports["short"],
                                            "queue_limit": 64})]).start()
    before = e.metrics("contoso")
    done = errors = 0
    for _ in range(RUNS):
        r = loadgen(ctx, e.socket, 16, seconds=THROUGHPUT_SECONDS)
        done += int(r["requests"])
        errors += int(r["errors"])
    after = e.metrics("contoso")
    e.stop()
    refreshes = after["token_acquisitions"] - before["token_acquisitions"]
    failed = errors + after["failures"] - before["failures"]
    rows.append(("2b. token rollover under load (16 socket clients, token lives %d s)" % ROLLOVER_LIFETIME,
                 None, None, None))
    rows.append(("   requests failed across %d token rollovers (%d requests)" % (refreshes, done), "%d" % failed,
                 "0", verdict(failed == 0 and refreshes > 0)))


def bench_exoctl(ctx, rows):
    log("3. exoctl instructions per run (callgrind)")
    rows.append(("3. exoctl -o json run Get-Mailbox -ResultSize 1 (callgrind, whole process)",
                 None, None, None))
    if not shutil.which("valgrind"):
        rows.append(("   valgrind missing", "-", "", "-"))
        return
    e = Exod(ctx, "exoctl", [("contoso", {})]).start()
    env = exoctl_env(ctx, e.socket)
    cmd = [ctx.exoctl, "-o", "json", "run", "Get-Mailbox", "-ResultSize", "1"]
    true_cmd = [shutil.which("true") or "/bin/true"]
    exoctl, true = [], []
    for i in range(CALLGRIND_RUNS):
        ir, out = callgrind(ctx, "exoctl%d" % i, cmd, env=env)
        if '"user000000"' not in out:
            raise BenchError("exoctl under callgrind did not print the record: " + out[-500:])
        exoctl.append(ir)
        true.append(callgrind(ctx, "true%d" % i, true_cmd, env=env)[0])
    e.stop()
    m_exoctl, m_true = median(exoctl), median(true)
    rows.append(("   exoctl", "%.0f" % m_exoctl, "< %dk" % (BUDGET_EXOCTL_IR // 1000),
                 verdict(m_exoctl < BUDGET_EXOCTL_IR)))
    rows.append(("   %s, for scale" % true_cmd[0], "%.0f" % m_true, "", ""))
    rows.append(("   exoctl - true", "%.0f" % (m_exoctl - m_true), "", ""))


def unit_environment():
    """The Environment= assignments of the shipped systemd/exod.service.in."""
    env = {}
    with open(os.path.join(ROOT, "systemd", "exod.service.in")) as f:
        for line in f:
            if line.startswith("Environment="):
                for kv in shlex.split(line.split("=", 1)[1]):
                    k, v = kv.split("=", 1)
                    env[k] = v
    return env


def idle_memory(ctx, name, profiles, env=None):
    """Median Pss and anonymous MiB of IDLE_RUNS fresh exods, each idle after its sign-ins."""
    pss, an = [], []
    for i in range(IDLE_RUNS):
        e = Exod(ctx, "%s-%d" % (name, i), profiles).start(timeout=START_TIMEOUT * 2, env=env)
        time.sleep(IDLE_SETTLE)     # idle: exod has trimmed the heap the sign-ins grew
        got = smaps_rollup(e.proc.pid)
        pss.append(got["Pss"] / 1024)
        an.append(got["Anonymous"] / 1024)
        e.stop()
    return median(pss), median(an)


def floor_memory(ctx, env=None):
    """Median Pss and anonymous MiB of directcurl idle after two requests: a process that has
    done exod's HTTPS through the same libcurl and OpenSSL, and nothing else."""
    cmd = [ctx.helpers["directcurl"], "-i"] + directcurl_cmd(ctx, ctx.proto, 1)[1:]
    pss, an = [], []
    for _ in range(IDLE_RUNS):
        p = ctx.reaper.spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=None if env is None else dict(os.environ, **env))
        line = p.stdout.readline()
        if not line.startswith("requests "):
            ctx.reaper.stop(p)
            raise BenchError("directcurl -i printed %r" % line)
        got = smaps_rollup(p.pid)
        pss.append(got["Pss"] / 1024)
        an.append(got["Anonymous"] / 1024)
        p.stdin.close()
        p.wait(timeout=30)
    return median(pss), median(an)


def bench_idle(ctx, rows):
    log("4. idle memory")
    rows.append(("4. exod memory as users pay it (/proc/PID/smaps_rollup)", None, None, None))
    anon = {}
    for n in (1, MANY_PROFILES):
        profiles = [("contoso" if n == 1 else "tenant%04d" % i, {}) for i in range(n)]
        pss, anon[n] = idle_memory(ctx, "idle%d" % n, profiles)
        label = "   idle, %s profile%s" % (format(n, ","), "s" if n > 1 else "")
        if n == 1:
            unit = unit_environment()
            upss, uanon = idle_memory(ctx, "idle-unit", profiles, env=unit)
            rows.append((label + ": Pss, started by hand", "%.2f MiB" % pss, "", ""))
            rows.append((label + ": Pss, as exod.service starts it (%s)"
                         % " ".join("%s=%s" % kv for kv in unit.items()),
                         "%.2f MiB" % upss, "< %d MiB" % BUDGET_IDLE_PSS_MIB,
                         verdict(upss < BUDGET_IDLE_PSS_MIB)))
            rows.append((label + ": anonymous, started by hand", "%.2f MiB" % anon[n], "", ""))
            rows.append((label + ": anonymous, as exod.service starts it", "%.2f MiB" % uanon,
                         "< %d MiB" % BUDGET_IDLE_ANON_MIB, verdict(uanon < BUDGET_IDLE_ANON_MIB)))
            fpss, fanon = floor_memory(ctx, env=unit)
            rows.append(("   floor, Pss / anon: libcurl client idle after 2 requests (directcurl -i)",
                         "%.2f / %.2f MiB" % (fpss, fanon), "", ""))
        else:
            rows.append((label + ": Pss", "%.2f MiB" % pss, "", ""))
            rows.append((label + ": anonymous", "%.2f MiB" % anon[n], "", ""))
    per = (anon[MANY_PROFILES] - anon[1]) * 1024 / (MANY_PROFILES - 1)
    rows.append(("   anonymous per additional profile", "%.1f KiB" % per, "< %d KiB" % BUDGET_PROFILE_ANON_KIB,
                 verdict(per < BUDGET_PROFILE_ANON_KIB)))


def bench_stream(ctx, rows):
    log("4b. streaming memory")
    peaks = {}
    for size, key in zip(STREAM_SIZES, ("p100k", "p1m")):
        e = Exod(ctx, "stream%d" % size,
                 [("contoso", {"connection_uri": "https://127.0.0.1:%d" % ctx.ports[key]})]).start()
        env = exoctl_env(ctx, e.socket)
        cmd = [ctx.exoctl, "-o", "ndjson", "run", "Get-Mailbox", "-ResultSize", "Unlimited"]
        rates, pss, anon, hwm, samples = [], [], [], [], []
        resettable = reset_peak(e.proc.pid)
        for _ in range(STREAM_RUNS):
            before = e.metrics("contoso")["records"]
            reset_peak(e.proc.pid)
            with SmapsPeak(e.proc.pid) as peak:
                t0 = time.perf_counter()
                r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                                   timeout=600)
                dt = time.perf_counter() - t0
            got = e.metrics("contoso")["records"] - before
            if r.returncode != 0 or got != size:
                raise BenchError("streaming %d records: exoctl exited %d, exod sent %d records: %s"
                                 % (size, r.returncode, got, r.stderr.decode(errors="replace")))
            rates.append(size / dt)
            pss.append(peak.peak["Pss"] / 1024)
            anon.append(peak.peak["Anonymous"] / 1024)
            samples.append(peak.samples)
            hwm.append(rss_kib(e.proc.pid, "VmHWM") / 1024)
        e.stop()
        peaks[size] = (median(pss), median(anon))
        what = "   streaming %s records" % format(size, ",")
        rows.append((what + ": rate", "%.0f rec/s" % median(rates), "", ""))
        for name, value in zip(("Pss", "anonymous"), peaks[size]):
            rows.append((what + ": peak %s" % name, "%.2f MiB" % value, "< %d MiB" % BUDGET_STREAM_MIB,
                         verdict(value < BUDGET_STREAM_MIB)))
        rows.append((what + ": peak RSS (VmHWM)%s, %d samples/run" % ("" if resettable else "*",
                                                                     min(samples)),
                     "%.2f MiB" % (median(hwm) if resettable else max(hwm)), "", ""))
    for i, name in enumerate(("Pss", "anonymous")):
        small, big = peaks[STREAM_SIZES[0]][i], peaks[STREAM_SIZES[1]][i]
        growth = (big - small) / small
        rows.append(("   peak %s growth 100k -> 1M records" % name, "%+.1f %%" % (growth * 100),
                     "< %d %%" % (BUDGET_FLAT_GROWTH * 100), verdict(growth < BUDGET_FLAT_GROWTH)))


def bench_latency(ctx, rows):
    log("5. round trips")
    proto = ctx.proto
    e = Exod(ctx, "latency", [("contoso", {})]).start()
    env = exoctl_env(ctx, e.socket)
    exoctl_cmd = [ctx.exoctl, "-o", "json", "run", "Get-Mailbox", "-ResultSize", "1"]
    r = subprocess.run(exoctl_cmd, capture_output=True, text=True, env=env, timeout=60)
    if r.returncode != 0 or '"user000000"' not in r.stdout:
        raise BenchError("exoctl run failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
    url_t = "https://127.0.0.1:%d%s" % (ctx.ports["token"], TOKEN_PATH)
    form = ("client_id=%s&scope=https%%3A%%2F%%2Foutlook.office365.com%%2F.default"
            "&grant_type=client_credentials&client_secret=%s" % (ctx.app_id, ctx.secret))
    # Cold: one new process, a new TLS session to the token endpoint and one to Exchange (two
    # hosts in the real cloud), the token request, then the call.
    cold = ["curl", "-sSf", "-o", "/dev/null", "--cacert", ctx.tls["ca.pem"], "-d", form, url_t,
            "--next", "-sSf", "-o", "/dev/null", "--cacert", ctx.tls["ca.pem"], "-A", ctx.agent,
            "--http1.1" if proto == "1.1" else "--http2"]
    for h in upstream_headers(ctx) + ["Accept-Encoding: gzip"]:
        cold += ["-H", h]
    cold += ["-d", "@" + ctx.body_file, small_url(ctx)]
    subprocess.run(cold, check=True, timeout=30)
    direct = directcurl_cmd(ctx, proto, LATENCY_SOCKET_CALLS)
    true_cmd = [shutil.which("true") or "/bin/true"]
    res = {k: [] for k in ("exoctl", "socket", "direct", "cold", "true")}
    loadgen(ctx, e.socket, 1, requests=50)
    for i in range(RUNS):
        got = parse_kv(run_tool(direct))
        check_spoke("directcurl", got, proto)
        res["direct"].append(got["p50_us"] / 1e3)
        res["socket"].append(loadgen(ctx, e.socket, 1, requests=LATENCY_SOCKET_CALLS)["p50_us"] / 1e3)
        res["exoctl"].append(time_command(ctx, exoctl_cmd, LATENCY_EXOCTL_CALLS, env=env) * 1e3)
        res["cold"].append(time_command(ctx, cold, LATENCY_COLD_CALLS) * 1e3)
        res["true"].append(time_command(ctx, true_cmd, LATENCY_EXOCTL_CALLS) * 1e3)
    e.stop()
    m = {k: median(v) for k, v in res.items()}
    over_exoctl = median([a - b for a, b in zip(res["exoctl"], res["direct"])])
    over_socket = median([a - b for a, b in zip(res["socket"], res["direct"])])
    over_start = median([a - b - c for a, b, c in zip(res["exoctl"], res["direct"], res["true"])])
    rows.append(("5. Get-Mailbox -ResultSize 1, round trip (median)", None, None, None))
    rows.append(("   direct to nginx, reused %s conn (directcurl)" % proto_name(proto),
                 "%.3f ms" % m["direct"], "", ""))
    rows.append(("   exod, raw socket client (no process start)", "%.3f ms" % m["socket"], "", ""))
    rows.append(("   exod, exoctl process", "%.3f ms" % m["exoctl"], "", ""))
    rows.append(("   cold: curl token + call, new process + TLS", "%.3f ms" % m["cold"], "", ""))
    rows.append(("   exod overhead: raw socket - direct", "%.3f ms" % over_socket,
                 "< %g ms" % BUDGET_SOCKET_OVERHEAD_MS, verdict(over_socket < BUDGET_SOCKET_OVERHEAD_MS)))
    rows.append(("   exod overhead: exoctl - direct", "%.3f ms" % over_exoctl, "", ""))
    rows.append(("   bare process start (true), for scale", "%.3f ms" % m["true"], "", ""))
    rows.append(("   exod overhead: exoctl - true - direct", "%.3f ms" % over_start, "", ""))
    rows.append(("   ratio cold / exoctl", "%.1fx" % (m["cold"] / m["exoctl"]), "", ""))
    rows.append(("   ratio exoctl / direct", "%.1fx" % (m["exoctl"] / m["direct"]), "", ""))


def start_redis(ctx):
    """A redis-server of the bench's own on a Unix socket (no port, nothing saved)."""
    d = os.path.join(ctx.work, "redis")
    os.makedirs(d, mode=0o700)
    sock = os.path.join(d, "redis.sock")
    p = ctx.reaper.spawn([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", "0",
                          "--unixsocket", sock, "--unixsocketperm", "700", "--save", "",
                          "--appendonly", "no", "--dir", d, "--logfile", os.path.join(d, "log")],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(sock)
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return p, sock
        except OSError:
            time.sleep(0.05)
    raise BenchError("redis-server did not answer on " + sock)


def bench_cluster(ctx, rows):
    """[cluster]: what a request costs when its slot is a lease in Redis, beside a local one."""
    log("6. a clustered request (Redis on a Unix socket)")
    if not (shutil.which("redis-server") or os.access("/usr/bin/redis-server", os.X_OK)):
        rows.append(("6. a clustered request", "redis-server missing", "", "-"))
        return
    redis, sock = start_redis(ctx)
    extra = "[cluster]\nredis = unix:%s\nnode = bench\n" % sock
    local = Exod(ctx, "local", [("contoso", {})]).start()
    clustered = Exod(ctx, "clustered", [("contoso", {})], extra=extra).start()
    rt = {"local": [], "clustered": []}
    for e in (local, clustered):
        loadgen(ctx, e.socket, 1, requests=50)
    for _ in range(RUNS):
        for name, e in (("local", local), ("clustered", clustered)):
            rt[name].append(loadgen(ctx, e.socket, 1, requests=LATENCY_SOCKET_CALLS)["p50_us"] / 1e3)
    local.stop()
    clustered.stop()
    ir = {}
    if shutil.which("valgrind"):
        for name, x in (("local", ""), ("clustered", extra)):
            ir[name] = per_request(lambda n, r, name=name, x=x: exod_ir(ctx, "cl-%s-%s" % (name, n), {}, r, x))
    ctx.reaper.stop(redis)
    rows.append(("6. a clustered request (a slot leased in Redis, on a Unix socket)", None, None, None))
    rows.append(("   round trip over the raw socket, local", "%.3f ms" % median(rt["local"]), "", ""))
    rows.append(("   round trip over the raw socket, clustered", "%.3f ms" % median(rt["clustered"]), "", ""))
    rows.append(("   clustered - local", "%.3f ms" % median([c - l for c, l in zip(rt["clustered"], rt["local"])]),
                 "", ""))
    if ir:
        rows.append(("   instructions per request, local (callgrind)", "%.0f" % ir["local"], "", ""))
        rows.append(("   instructions per request, clustered", "%.0f" % ir["clustered"], "", ""))
        rows.append(("   clustered - local", "%.0f" % (ir["clustered"] - ir["local"]), "", ""))


def verdict(ok):
    return "ok" if ok else "MISSED"


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return ("machine: %d CPUs, %s, Linux %s\ndate:    %s"
            % (len(os.sched_getaffinity(0)), model, platform.release(),
               datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")))


def print_table(rows):
    w = max(len(r[0]) for r in rows)
    vw = max(len(r[1] or "") for r in rows)
    head = ("figure (median of %d runs; callgrind %d, idle %d, streams %d)"
            % (RUNS, CALLGRIND_RUNS, IDLE_RUNS, STREAM_RUNS))
    w = max(w, len(head))
    print("%-*s  %*s  %-10s  %s" % (w, head, vw, "value", "budget", "verdict"))
    print("-" * (w + vw + 24))
    for name, value, budget, word in rows:
        if value is None:
            print(name)
        else:
            print("%-*s  %*s  %-10s  %s" % (w, name, vw, value, budget, word))


def setup(ctx, args):
    ctx.exod, ctx.exoctl = os.path.abspath(args.exod), os.path.abspath(args.exoctl)
    for b in (ctx.exod, ctx.exoctl):
        if not os.access(b, os.X_OK):
            raise BenchError("%s is not built" % b)
    if not (shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)):
        raise BenchError("nginx is not installed (apt-get install nginx-light)")
    if not shutil.which("curl"):
        raise BenchError("curl is not installed")
    version = subprocess.run([ctx.exod, "-V"], capture_output=True, text=True).stdout.split()
    ctx.agent = "/".join(version[:2]) if len(version) >= 2 else "exod"
    ctx.helpers = build_helpers(ctx.work)
    os.makedirs(os.path.join(ctx.work, "xdg"))
    ctx.tls = make_tls(ctx.work)
    ctx.app_id = str(uuid.uuid4())
    ctx.connection_id = str(uuid.uuid4())
    ctx.secret = b64url(os.urandom(30))
    ctx.secret_file = os.path.join(ctx.work, "client.secret")
    fd = os.open(ctx.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ctx.secret + "\n")
    ctx.token = fake_jwt(ctx.app_id)
    ctx.body = json.dumps({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": 1}}},
                          separators=(",", ":"))
    ctx.body_file = os.path.join(ctx.work, "body.json")
    with open(ctx.body_file, "w") as f:
        f.write(ctx.body)
    names = ("token", "short", "small", "p100k", "p1m", "probe")
    ctx.ports = dict(zip(names, free_ports(len(names))))
    ctx.nginx = start_nginx(ctx.reaper, ctx.work, ctx.tls, ctx.ports, ctx.token, fake_jwt(ctx.app_id))
    check_pages(ctx)
    probe_exod(ctx, args.http_version)


# Section names for --only, in the order of the table.
STEPS = (("callgrind", bench_callgrind), ("throughput", bench_throughput), ("rollover", bench_rollover),
         ("exoctl", bench_exoctl), ("idle", bench_idle), ("stream", bench_stream),
         ("latency", bench_latency), ("cluster", bench_cluster))
ALIASES = {"memory": ("idle", "stream")}


def parse_only(text):
    if not text:
        return None
    names = set()
    for word in text.split(","):
        names.update(ALIASES.get(word, (word,)))
    unknown = names - {n for n, _ in STEPS}
    if unknown:
        raise SystemExit("bench: --only: unknown section %s (known: %s, memory)"
                         % (", ".join(sorted(unknown)), ", ".join(n for n, _ in STEPS)))
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exod", required=True)
    ap.add_argument("--exoctl", required=True)
    ap.add_argument("--only", help="comma-separated subset: %s (memory = idle,stream)"
                    % ",".join(n for n, _ in STEPS))
    ap.add_argument("--http-version", choices=PROTOCOLS,
                    help="set exod's http_version for sections 2-5 (default: exod's own default); "
                         "the direct clients follow")
    args = ap.parse_args()
    only = parse_only(args.only)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    # 1,000 profiles hold 1,000 upstream connections.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = Ctx()
    ctx.reaper = Reaper()
    ctx.work = tempfile.mkdtemp(prefix="exod-bench-")
    rows = []
    t0 = time.monotonic()
    try:
        setup(ctx, args)
        for name, fn in STEPS:
            if only is None or name in only:
                t1 = time.monotonic()
                fn(ctx, rows)
                log("%s took %.0f s" % (name, time.monotonic() - t1))
    except BenchError as e:
        log("cannot run: %s" % e)
        return 1
    except subprocess.TimeoutExpired as e:
        log("cannot run: %s timed out after %s s" % (e.cmd[0], e.timeout))
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        ctx.reaper.stop_all()
        shutil.rmtree(ctx.work, ignore_errors=True)
    print(machine())
    print("upstream: nginx %s on 127.0.0.1, TLS, HTTP/2 or HTTP/1.1 by ALPN, canned answers" % nginx_version())
    print("exod:     %s, log_level = info; http_version key: %s; default protocol: %s (as nginx saw it);"
          % (ctx.agent, "yes" if ctx.has_key else "no (exod refuses it)", proto_name(ctx.default_proto)))
    print("          sections 2-5 use %s\n" % ("http_version = %s" % args.http_version if args.http_version
                                                 else "exod's default (%s)" % proto_name(ctx.proto)))
    print_table(rows)
    print("\n(bench took %.0f s; figures are never pass/fail: see tests/bench/README.md)"
          % (time.monotonic() - t0))
    return 0


def nginx_version():
    r = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-v"], capture_output=True, text=True)
    return r.stderr.strip().split("/")[-1]


if __name__ == "__main__":
    sys.exit(main())
