"""make bench: exod's figures against the budgets of DESIGN.md §6, with nginx as a fast upstream.

Starts nginx on 127.0.0.1 (TLS with a CA made for the run, HTTP/2, keepalive) serving a canned
token endpoint and canned InvokeCommand pages, then exod on private sockets, and measures round
trips, throughput, streaming memory, idle memory and instructions per request. Prints one table;
a missed budget is a verdict in the table, never an exit status. Exits non-zero only when the
benchmark could not run. Everything it starts is stopped and its temp directory removed, also on
Ctrl-C. See tests/bench/README.md.
"""

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
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
TENANT = "contoso.onmicrosoft.com"
INVOKE_PATH = "/adminapi/beta/%s/InvokeCommand" % TENANT
TOKEN_PATH = "/%s/oauth2/v2.0/token" % TENANT

RUNS = 5                        # every figure is the median of this many runs
PAGE_RECORDS = 1000             # records per InvokeCommand page, the service's maximum
STREAM_SIZES = (100_000, 1_000_000)
LATENCY_EXOCTL_CALLS = 40       # exoctl invocations per run (hyperfine --runs)
LATENCY_COLD_CALLS = 20         # cold curl invocations per run
LATENCY_SOCKET_CALLS = 300      # requests per run on one socket / one HTTP/2 connection
THROUGHPUT_SECONDS = 3
THROUGHPUT_CAPS = (3, 16)       # max_connections: the default, and a higher cap
CLIENTS_PER_SLOT = 8            # socket clients per pool slot: keeps the queue full
MANY_PROFILES = 1000
ROLLOVER_LIFETIME = 4           # s: the short token's expires_in; exod refreshes at half-life
CALLGRIND_REQUESTS = 200
CALLGRIND_RUNS = 3              # callgrind counts instructions, so runs differ very little
START_TIMEOUT = 60              # s for exod (under callgrind: x4) to answer and hold tokens
MIB = 1024 * 1024

BUDGET_OVERHEAD_MS = 1.0
BUDGET_THROUGHPUT_RATIO = 0.9
BUDGET_STREAM_MIB = 32
BUDGET_FLAT_GROWTH = 0.10       # "flat": 1M records peak within 10 % of the 100k peak
BUDGET_IDLE_1_MIB = 8
BUDGET_IDLE_MANY_MIB = 64


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
    """One nginx, several loopback servers: token endpoints, a one-record answer, paged answers."""
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
           listen_p1m=listen % ports["p1m"], token_loc=token_loc, token_path=TOKEN_PATH,
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
    """exod on a private socket with secret profiles against the canned upstream."""

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
            base.update(keys)
            text += ["%s = %s" % kv for kv in base.items()] + [""]
        text.append(extra)
        with open(self.conf, "w") as f:
            f.write("\n".join(text))
        self.proc = None

    def start(self, timeout=START_TIMEOUT):
        logf = open(self.log, "ab")
        self.proc = self.ctx.reaper.spawn(self.wrapper + [self.ctx.exod, "-c", self.conf],
                                          stdout=logf, stderr=logf)
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


# --- load tools -----------------------------------------------------------------------------

def build_helpers(work):
    out = {}
    cflags = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE"]
    curl = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl"], capture_output=True, text=True)
    for name, extra in (("loadgen", []), ("directcurl", curl.stdout.split())):
        out[name] = os.path.join(work, name)
        r = subprocess.run([os.environ.get("CC", "cc")] + cflags + [os.path.join(HERE, name + ".c"),
                            "-o", out[name]] + extra, capture_output=True, text=True)
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
    """The headers exod sends with an InvokeCommand."""
    return ["Authorization: Bearer " + ctx.token, "Content-Type: application/json",
            "Accept: application/json", "X-ResponseFormat: json", "X-SerializationLevel: Partial",
            "X-CmdletName: Get-Mailbox", "X-ClientApplication: ExoManagementModule",
            "X-AnchorMailbox: APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@" + TENANT,
            "Prefer: odata.maxpagesize=1000", "connection-id: " + str(uuid.uuid4()),
            "client-request-id: " + str(uuid.uuid4())]


def direct_rps(ctx, conc, seconds):
    """Requests/s straight to nginx at a concurrency: h2load (HTTP/2, like exod) or wrk."""
    url = "https://127.0.0.1:%d%s" % (ctx.ports["small"], INVOKE_PATH)
    if shutil.which("h2load"):
        cmd = ["h2load", "-c", "1", "-m", str(conc), "-t", "1", "-D", str(seconds),
               "--warm-up-time", "1", "-d", ctx.body_file]
        for h in upstream_headers(ctx):
            cmd += ["-H", h]
        out = run_tool(cmd + [url])
        for line in out.splitlines():
            if line.startswith("requests:"):
                failed = int(line.split(",")[4].split()[0])
                if failed:
                    raise BenchError("h2load: %d requests failed" % failed)
            if line.startswith("finished in"):
                return float(line.split(",")[1].split()[0])
        raise BenchError("cannot read h2load's output:\n" + out)
    if shutil.which("wrk"):
        script = os.path.join(ctx.work, "post.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.body = %s\n' % json.dumps(ctx.body))
            for h in upstream_headers(ctx):
                k, v = h.split(": ", 1)
                f.write("wrk.headers[%s] = %s\n" % (json.dumps(k), json.dumps(v)))
        out = run_tool(["wrk", "-t", "1", "-c", str(conc), "-d", "%ds" % seconds, "-s", script, url])
        for line in out.splitlines():
            if line.startswith("Requests/sec:"):
                return float(line.split()[1])
        raise BenchError("cannot read wrk's output:\n" + out)
    raise BenchError("neither h2load nor wrk is installed")


# --- the figures ----------------------------------------------------------------------------

class Ctx:
    pass


def bench_latency(ctx, rows):
    log("1. round trips")
    e = Exod(ctx, "latency", [("contoso", {})]).start()
    env = dict(os.environ, EXOD_SOCKET=e.socket)
    env.pop("EXOD_PROFILE", None)
    exoctl_cmd = [ctx.exoctl, "-o", "json", "run", "Get-Mailbox", "-ResultSize", "1"]
    r = subprocess.run(exoctl_cmd, capture_output=True, text=True, env=env, timeout=60)
    if r.returncode != 0 or '"user000000"' not in r.stdout:
        raise BenchError("exoctl run failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
    url_t = "https://127.0.0.1:%d%s" % (ctx.ports["token"], TOKEN_PATH)
    url_s = "https://127.0.0.1:%d%s" % (ctx.ports["small"], INVOKE_PATH)
    form = ("client_id=%s&scope=https%%3A%%2F%%2Foutlook.office365.com%%2F.default"
            "&grant_type=client_credentials&client_secret=%s" % (ctx.app_id, ctx.secret))
    # Cold: one new process, a new TLS session to the token endpoint and one to Exchange (two
    # hosts in the real cloud), the token request, then the call.
    cold = ["curl", "-sSf", "-o", "/dev/null", "--cacert", ctx.tls["ca.pem"], "-d", form, url_t,
            "--next", "-sSf", "-o", "/dev/null", "--cacert", ctx.tls["ca.pem"]]
    for h in upstream_headers(ctx):
        cold += ["-H", h]
    cold += ["-d", "@" + ctx.body_file, url_s]
    subprocess.run(cold, check=True, timeout=30)
    direct = [ctx.helpers["directcurl"], url_s, ctx.tls["ca.pem"], ctx.body, str(LATENCY_SOCKET_CALLS)]
    direct += upstream_headers(ctx)
    true_cmd = [shutil.which("true") or "/bin/true"]
    res = {k: [] for k in ("exoctl", "socket", "direct", "cold", "true")}
    loadgen(ctx, e.socket, 1, requests=50)
    for i in range(RUNS):
        res["direct"].append(parse_kv(run_tool(direct))["p50_us"] / 1e3)
        res["socket"].append(loadgen(ctx, e.socket, 1, requests=LATENCY_SOCKET_CALLS)["p50_us"] / 1e3)
        res["exoctl"].append(time_command(ctx, exoctl_cmd, LATENCY_EXOCTL_CALLS, env=env) * 1e3)
        res["cold"].append(time_command(ctx, cold, LATENCY_COLD_CALLS) * 1e3)
        res["true"].append(time_command(ctx, true_cmd, LATENCY_EXOCTL_CALLS) * 1e3)
    e.stop()
    m = {k: median(v) for k, v in res.items()}
    over_exoctl = median([a - b for a, b in zip(res["exoctl"], res["direct"])])
    over_socket = median([a - b for a, b in zip(res["socket"], res["direct"])])
    over_start = median([a - b - c for a, b, c in zip(res["exoctl"], res["direct"], res["true"])])
    rows.append(("1. Get-Mailbox -ResultSize 1, round trip", None, None, None))
    rows.append(("   direct to nginx, reused HTTP/2 conn (libcurl)", "%.3f ms" % m["direct"], "", ""))
    rows.append(("   exod, raw socket client (no process start)", "%.3f ms" % m["socket"], "", ""))
    rows.append(("   exod, exoctl process", "%.3f ms" % m["exoctl"], "", ""))
    rows.append(("   cold: curl token + call, new process + TLS", "%.3f ms" % m["cold"], "", ""))
    rows.append(("   exod overhead: exoctl - direct", "%.3f ms" % over_exoctl,
                 "< %g ms" % BUDGET_OVERHEAD_MS, verdict(over_exoctl < BUDGET_OVERHEAD_MS)))
    rows.append(("   bare process start (true), for scale", "%.3f ms" % m["true"], "", ""))
    rows.append(("   exod overhead: exoctl - true - direct", "%.3f ms" % over_start,
                 "< %g ms" % BUDGET_OVERHEAD_MS, verdict(over_start < BUDGET_OVERHEAD_MS)))
    rows.append(("   exod overhead: raw socket - direct", "%.3f ms" % over_socket,
                 "< %g ms" % BUDGET_OVERHEAD_MS, verdict(over_socket < BUDGET_OVERHEAD_MS)))
    rows.append(("   ratio cold / exoctl", "%.1fx" % (m["cold"] / m["exoctl"]), "", ""))
    rows.append(("   ratio exoctl / direct", "%.1fx" % (m["exoctl"] / m["direct"]), "", ""))


def bench_throughput(ctx, rows):
    log("2. throughput")
    tool = "h2load -c1 -m%d" if shutil.which("h2load") else "wrk -c%d"
    rows.append(("2. throughput, Get-Mailbox -ResultSize 1", None, None, None))
    for cap in THROUGHPUT_CAPS:
        e = Exod(ctx, "tp%d" % cap, [("contoso", {"max_connections": cap,
                                                  "queue_limit": cap * CLIENTS_PER_SLOT})]).start()
        clients = cap * CLIENTS_PER_SLOT
        loadgen(ctx, e.socket, clients, seconds=1)
        before = e.metrics("contoso")
        via, direct, errors = [], [], 0
        for i in range(RUNS):
            r = loadgen(ctx, e.socket, clients, seconds=THROUGHPUT_SECONDS)
            via.append(r["requests"] / r["seconds"])
            errors += int(r["errors"])
            direct.append(direct_rps(ctx, cap, THROUGHPUT_SECONDS))
        after = e.metrics("contoso")
        e.stop()
        ratio = median([a / b for a, b in zip(via, direct)])
        rows.append(("   cap %d: exod, %d socket clients" % (cap, clients), "%.0f req/s" % median(via),
                     "", ""))
        rows.append(("   cap %d: nginx direct, %s" % (cap, tool % cap), "%.0f req/s" % median(direct),
                     "", ""))
        rows.append(("   cap %d: ratio exod / direct" % (cap), "%.2f" % ratio,
                     ">= %.1f" % BUDGET_THROUGHPUT_RATIO, verdict(ratio >= BUDGET_THROUGHPUT_RATIO)))
        failed = errors + after["failures"] - before["failures"]
        rows.append(("   cap %d: requests failed" % cap, "%d" % failed, "0", verdict(failed == 0)))


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
    rows.append(("   failed across %d token rollovers (%d requests)" % (refreshes, done), "%d" % failed,
                 "0", verdict(failed == 0 and refreshes > 0)))


def bench_stream(ctx, rows):
    log("3. streaming")
    rows.append(("3. exoctl -o ndjson run Get-Mailbox -ResultSize Unlimited", None, None, None))
    peaks = {}
    for size, key in zip(STREAM_SIZES, ("p100k", "p1m")):
        e = Exod(ctx, "stream%d" % size,
                 [("contoso", {"connection_uri": "https://127.0.0.1:%d" % ctx.ports[key]})]).start()
        env = dict(os.environ, EXOD_SOCKET=e.socket)
        cmd = [ctx.exoctl, "-o", "ndjson", "run", "Get-Mailbox", "-ResultSize", "Unlimited"]
        rates, hwm = [], []
        resettable = reset_peak(e.proc.pid)
        for _ in range(RUNS):
            before = e.metrics("contoso")["records"]
            reset_peak(e.proc.pid)
            t0 = time.perf_counter()
            r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                               timeout=600)
            dt = time.perf_counter() - t0
            got = e.metrics("contoso")["records"] - before
            if r.returncode != 0 or got != size:
                raise BenchError("streaming %d records: exoctl exited %d, exod sent %d records: %s"
                                 % (size, r.returncode, got, r.stderr.decode(errors="replace")))
            rates.append(size / dt)
            hwm.append(rss_kib(e.proc.pid, "VmHWM") / 1024)
        e.stop()
        peaks[size] = median(hwm) if resettable else max(hwm)
        rows.append(("   %s records: rate" % format(size, ","), "%.0f rec/s" % median(rates), "", ""))
        rows.append(("   %s records: exod peak RSS (VmHWM)%s" % (format(size, ","), "" if resettable else "*"),
                     "%.1f MiB" % peaks[size], "< %d MiB" % BUDGET_STREAM_MIB,
                     verdict(peaks[size] < BUDGET_STREAM_MIB)))
    small, big = peaks[STREAM_SIZES[0]], peaks[STREAM_SIZES[1]]
    growth = (big - small) / small
    rows.append(("   peak growth 100k -> 1M records", "%+.1f %%" % (growth * 100),
                 "< %d %%" % (BUDGET_FLAT_GROWTH * 100), verdict(growth < BUDGET_FLAT_GROWTH)))


def bench_idle(ctx, rows):
    log("4. idle memory")
    rows.append(("4. exod idle RSS (VmRSS once every token is held)", None, None, None))
    for n, budget in ((1, BUDGET_IDLE_1_MIB), (MANY_PROFILES, BUDGET_IDLE_MANY_MIB)):
        profiles = [("contoso" if n == 1 else "tenant%04d" % i, {}) for i in range(n)]
        rss, anon = [], []
        for i in range(RUNS):
            e = Exod(ctx, "idle%d-%d" % (n, i), profiles).start(timeout=START_TIMEOUT * 2)
            time.sleep(0.2)     # lets the last token answers' buffers be released
            rss.append(rss_kib(e.proc.pid, "VmRSS") / 1024)
            anon.append(rss_kib(e.proc.pid, "RssAnon") / 1024)
            e.stop()
        label = "%s profile%s" % (format(n, ","), "s" if n > 1 else "")
        rows.append(("   " + label, "%.1f MiB" % median(rss), "< %d MiB" % budget,
                     verdict(median(rss) < budget)))
        # Shared-library pages count in VmRSS; the heap is what grows with profiles.
        rows.append(("   %s: of which anonymous (heap, stacks)" % label, "%.1f MiB" % median(anon), "", ""))


def callgrind_ir(ctx, name, requests, extra=""):
    out = os.path.join(ctx.work, "callgrind.%s.out" % name)
    wrapper = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
    e = Exod(ctx, name, [("contoso", {})], wrapper=wrapper, extra=extra).start(timeout=START_TIMEOUT * 4)
    # One warm-up request in every run: it opens the HTTP/2 connection the others reuse.
    loadgen(ctx, e.socket, 1, requests=1 + requests)
    e.stop()
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise BenchError("no totals in " + out)


def bench_callgrind(ctx, rows):
    log("5. instructions per request (callgrind)")
    if not shutil.which("valgrind"):
        rows.append(("5. instructions per small request", "valgrind missing", "", "-"))
        return
    per = []
    for i in range(CALLGRIND_RUNS):
        base = callgrind_ir(ctx, "cg-base%d" % i, 0)
        full = callgrind_ir(ctx, "cg-run%d" % i, CALLGRIND_REQUESTS)
        per.append((full - base) / CALLGRIND_REQUESTS)
    rows.append(("5. instructions per small request (callgrind)", "%.0f" % median(per), "", "-"))


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
    ir = {"local": [], "clustered": []}
    if shutil.which("valgrind"):
        for i in range(CALLGRIND_RUNS):
            for name, x in (("local", ""), ("clustered", extra)):
                base = callgrind_ir(ctx, "cl-%s-base%d" % (name, i), 0, x)
                full = callgrind_ir(ctx, "cl-%s-run%d" % (name, i), CALLGRIND_REQUESTS, x)
                ir[name].append((full - base) / CALLGRIND_REQUESTS)
    ctx.reaper.stop(redis)
    rows.append(("6. a clustered request (a slot leased in Redis, on a Unix socket)", None, None, None))
    rows.append(("   round trip over the raw socket, local", "%.3f ms" % median(rt["local"]), "", ""))
    rows.append(("   round trip over the raw socket, clustered", "%.3f ms" % median(rt["clustered"]), "", ""))
    rows.append(("   clustered - local", "%.3f ms" % median([c - l for c, l in zip(rt["clustered"], rt["local"])]),
                 "", ""))
    if ir["local"]:
        rows.append(("   instructions per request, local (callgrind)", "%.0f" % median(ir["local"]), "", ""))
        rows.append(("   instructions per request, clustered", "%.0f" % median(ir["clustered"]), "", ""))
        rows.append(("   clustered - local", "%.0f" % (median(ir["clustered"]) - median(ir["local"])),
                     "", ""))


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
    print("%-*s  %*s  %-10s  %s" % (w, "figure (median of %d runs)" % RUNS, vw, "value", "budget", "verdict"))
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
    ctx.helpers = build_helpers(ctx.work)
    ctx.tls = make_tls(ctx.work)
    ctx.app_id = str(uuid.uuid4())
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
    names = ("token", "short", "small", "p100k", "p1m")
    ctx.ports = dict(zip(names, free_ports(len(names))))
    ctx.nginx = start_nginx(ctx.reaper, ctx.work, ctx.tls, ctx.ports, ctx.token, fake_jwt(ctx.app_id))
    check_pages(ctx)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exod", required=True)
    ap.add_argument("--exoctl", required=True)
    ap.add_argument("--only", help="comma-separated subset: latency,throughput,rollover,stream,idle,"
                    "callgrind,cluster")
    args = ap.parse_args()
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    # 1,000 profiles hold 1,000 upstream connections.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = Ctx()
    ctx.reaper = Reaper()
    ctx.work = tempfile.mkdtemp(prefix="exod-bench-")
    steps = [("latency", bench_latency), ("throughput", bench_throughput), ("rollover", bench_rollover),
             ("stream", bench_stream), ("idle", bench_idle), ("callgrind", bench_callgrind),
             ("cluster", bench_cluster)]
    only = set(args.only.split(",")) if args.only else None
    rows = []
    t0 = time.monotonic()
    try:
        setup(ctx, args)
        for name, fn in steps:
            if only is None or name in only:
                fn(ctx, rows)
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
    print("upstream: nginx %s on 127.0.0.1, TLS + HTTP/2, canned answers; exod log_level = info\n"
          % nginx_version())
    print_table(rows)
    print("\n(bench took %.0f s; figures are never pass/fail: see tests/bench/README.md)"
          % (time.monotonic() - t0))
    return 0


def nginx_version():
    r = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-v"], capture_output=True, text=True)
    return r.stderr.strip().split("/")[-1]


if __name__ == "__main__":
    sys.exit(main())
