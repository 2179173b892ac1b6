#!/usr/bin/python3
"""Simulated Microsoft cloud (Entra ID + Exchange Online admin API) over HTTPS on 127.0.0.1, for tests.

Usage: /usr/bin/python3 tests/fake/fake_cloud.py --dir DIR [--port 0] [--config FILE.json]
Prints "READY https://127.0.0.1:PORT" once it accepts connections; see README.md.  Security &
Compliance's front door and regions listen on ports of their own (DIR/compliance.json).
"""

import argparse
import functools
import gzip
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_compliance
import fake_crypto
import fake_entra
import fake_exo
import fake_http
from fake_http import Req, json_resp
from fake_state import REGIONS, ConfigError, FakeState

MAX_BODY = 1024 * 1024            # larger request bodies get 413
MAX_DRAIN = 16 * 1024 * 1024     # an oversized body up to this is read and dropped before the 413
MAX_CHUNK_LINE = 64               # bytes of a chunk-size line in a chunked request body
IDLE_TIMEOUT = 120                # seconds a kept-alive connection may sit idle
HANDSHAKE_TIMEOUT = 10
STREAM_FLUSH_BYTES = 16 * 1024    # coalesce streamed pieces into chunks of about this size

ROUTES = [
    (re.compile(r"^/_fake/(counters|reset|knobs|device|authorize)$"), "control"),
    (re.compile(r"^/([^/]+)/oauth2/v2\.0/token$"), "token"),
    (re.compile(r"^/([^/]+)/oauth2/v2\.0/authorize$"), "authorize"),
    (re.compile(r"^/([^/]+)/oauth2/v2\.0/devicecode$"), "devicecode"),
    (re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$"), "discovery"),
    (re.compile(r"^/([^/]+)/discovery/v2\.0/keys$"), "jwks"),
    (re.compile(r"^/metadata/identity/oauth2/token$"), "imds"),
    (re.compile(r"^/msi/token$"), "appservice"),
    (re.compile(r"^/adminapi/(beta|v1\.0)/([^/]+)/InvokeCommand$", re.I), "invoke"),
    (re.compile(r"^/adminapi/(beta|v1\.0)/([^/]+)/\$metadata$", re.I), "metadata"),
    (re.compile(r"^/adminapi/(beta|v1\.0)/([^/]+)/EXOBanner\('AutogenSession'\)$", re.I), "banner"),
    (re.compile(r"^/adminapi/(beta|v1\.0)/([^/]+)/EXOModuleFile$", re.I), "module"),
]


def route(state, req):
    for regex, name in ROUTES:
        m = regex.match(req.path)
        if m is None:
            continue
        g = m.groups()
        if name == "control":
            return control(state, req, g[0])
        if name == "token":
            return fake_entra.token_endpoint(state, req, g[0])
        if name == "authorize":
            return fake_entra.authorize_endpoint(state, req, g[0])
        if name == "devicecode":
            return fake_entra.devicecode_endpoint(state, req, g[0])
        if name == "discovery":
            return fake_entra.discovery_endpoint(state, req, g[0])
        if name == "jwks":
            return fake_entra.jwks_endpoint(state, req)
        if name == "imds":
            return fake_entra.imds_endpoint(state, req)
        if name == "appservice":
            return fake_entra.appservice_endpoint(state, req)
        if name == "invoke":
            return fake_exo.invoke_endpoint(state, req, g[0].lower(), g[1])
        what = {"metadata": "$metadata", "banner": "banner", "module": "module"}[name]
        return fake_exo.stub_endpoint(state, req, g[0].lower(), g[1], what)
    return json_resp(404, {"error": {"code": "NotFound", "message": "No route for %s" % req.path}})


# -- control API (tests only) ------------------------------------------------------------

def control(state, req, what):
    try:
        if what == "counters" and req.method == "GET":
            return json_resp(200, state.snapshot())
        if what == "reset" and req.method == "POST":
            state.reset()
            return json_resp(200, {"ok": True})
        if what == "knobs" and req.method == "GET":
            with state.lock:
                return json_resp(200, state.knobs)
        if what == "knobs" and req.method == "POST":
            return json_resp(200, state.set_knobs(req.json()))
        if what == "device" and req.method == "GET":
            return json_resp(200, {"pending": state.pending_device_flows()})
        if what == "device" and req.method == "POST":
            return _device_decision(state, req.json())
        if what == "authorize" and req.method == "GET":
            return json_resp(200, {"browser": state.browser_decision()})
        if what == "authorize" and req.method == "POST":
            return _browser_decision(state, req.json())
    except ValueError as exc:
        return json_resp(400, {"error": str(exc)})
    return json_resp(405, {"error": "method not allowed"})


def _device_decision(state, cmd):
    if not isinstance(cmd, dict) or not isinstance(cmd.get("user_code"), str):
        raise ValueError("need {\"user_code\", \"action\": \"approve\"|\"deny\", \"upn\"}")
    action = cmd.get("action", "approve")
    if action not in ("approve", "deny"):
        raise ValueError("action must be approve or deny")
    upn = cmd.get("upn") or next(iter(state.tenants[0].users.values())).upn
    user = state.find_user(upn)
    if user is None:
        raise ValueError("unknown user %r" % upn)
    if action == "approve" and (user.locked or user.disabled):
        raise ValueError("user %r cannot sign in (locked or disabled)" % upn)
    if not state.decide_device_flow(cmd["user_code"], action, user.upn):
        return json_resp(404, {"error": "no pending device flow with user_code %r" % cmd["user_code"]})
    return json_resp(200, {"ok": True})


def _browser_decision(state, cmd):
    if not isinstance(cmd, dict) or cmd.get("action") not in ("approve", "deny", None):
        raise ValueError("need {\"action\": \"approve\"|\"deny\"|null, \"upn\"}")
    if cmd["action"] is None:
        state.set_browser(None)
        return json_resp(200, {"ok": True})
    upn = cmd.get("upn") or next(iter(state.tenants[0].users.values())).upn
    user = state.find_user(upn)
    if user is None:
        raise ValueError("unknown user %r" % upn)
    state.set_browser({"action": cmd["action"], "upn": user.upn})
    return json_resp(200, {"ok": True})


# -- HTTP layer ----------------------------------------------------------------------------

def _accepts_gzip(header):
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() == "gzip":
            m = re.search(r"q\s*=\s*([0-9.]+)", params)
            return not m or float(m.group(1)) > 0
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive; every answer has a length or is chunked
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        self.server.state.count("connections")

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        # Request lines carry paths and queries only; tokens travel in headers and bodies.
        sys.stderr.write("fake_cloud: %s %s\n" % (self.address_string(), format % args))

    def _handle(self):
        state = self.server.state
        state.count("requests")
        body = self._read_body()
        if body is None:
            return
        req = Req(self.command, self.path, self.headers, body,
                  "127.0.0.1:%d" % self.server.server_address[1])
        router = self.server.router
        if req.path.lower().endswith("/invokecommand"):
            state.invoke_begin()
            try:
                self._send(router(state, req), req)
            finally:
                state.invoke_end()
        else:
            self._send(router(state, req), req)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def _reject(self, status, message):
        self.close_connection = True
        self._send(json_resp(status, {"error": {"code": "RequestRejected", "message": message}}), None)

    def _read_body(self):
        """The request body, bounded by MAX_BODY; None when an error answer was already sent."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            self._reject(400, "bad Content-Length")
            return None
        n = int(length)
        if n > MAX_BODY:
            self._discard(n)
            self._reject(413, "request body larger than %d bytes" % MAX_BODY)
            return None
        body = self.rfile.read(n)
        if len(body) != n:
            self.close_connection = True
            return None
        return body

    def handle_expect_100(self):
        # Refuse an oversized body before the client sends it, instead of "100 Continue".
        length = self.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > MAX_BODY:
            self._reject(413, "request body larger than %d bytes" % MAX_BODY)
            return False
        return super().handle_expect_100()

    def _discard(self, n):
        """Read and drop a moderately oversized body so the client sees the 413, not a reset."""
        if n > MAX_DRAIN:
            return
        while n > 0:
            got = self.rfile.read(min(n, 64 * 1024))
            if not got:
                return
            n -= len(got)

    def _read_chunked(self):
        body = b""
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self._reject(400, "bad chunk size")
                return None
            if len(body) + size > MAX_BODY:
                self._reject(413, "request body larger than %d bytes" % MAX_BODY)
                return None
            if size == 0:
                while self.rfile.readline(MAX_CHUNK_LINE) not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline(MAX_CHUNK_LINE)

    def _hang_up(self):
        """Ends the connection without an answer, or in the middle of one."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, resp, req):
        state = self.server.state
        if resp.drop:
            self._hang_up()
            return
        use_gzip = (resp.compressible and req is not None and state.knob("gzip") and
                    _accepts_gzip(req.header("Accept-Encoding")))
        try:
            self.send_response(resp.status)
            for name, value in resp.headers:
                self.send_header(name, value)
            if use_gzip:
                self.send_header("Content-Encoding", "gzip")
            if isinstance(resp.body, bytes):
                body = gzip.compress(resp.body) if use_gzip else resp.body
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._write_chunked(resp.body, use_gzip)
        except fake_http.BodyCut:
            self._hang_up()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            # The peer went away mid-answer (a client cancelling a slow page, say).
            state.count("client_disconnects")
            self.close_connection = True

    def _write_chunked(self, pieces, use_gzip):
        comp = zlib.compressobj(6, zlib.DEFLATED, 31) if use_gzip else None
        pending = []
        pending_len = 0
        for piece in pieces:
            if piece is fake_http.CUT:
                self._write_chunk(b"".join(pending), comp, zlib.Z_SYNC_FLUSH)
                self.wfile.flush()
                raise fake_http.BodyCut()
            pending.append(piece)
            pending_len += len(piece)
            if pending_len >= STREAM_FLUSH_BYTES:
                self._write_chunk(b"".join(pending), comp, zlib.Z_SYNC_FLUSH)
                pending, pending_len = [], 0
        self._write_chunk(b"".join(pending), comp, zlib.Z_FINISH)
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data, comp, mode):
        if comp is not None:
            data = comp.compress(data) + comp.flush(mode)
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state, ssl_ctx, router=route):
        super().__init__(address, Handler)
        self.state = state
        self.ssl_ctx = ssl_ctx
        self.router = router            # what this listener serves: route(state, req) -> Resp

    def server_bind(self):
        # HTTPServer.server_bind would call getfqdn(), which can stall on a box without DNS.
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        # The TLS handshake happens in the connection's thread, so one slow client
        # cannot stall accept().
        sock, addr = self.socket.accept()
        return self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            request.do_handshake()
        except (ssl.SSLError, OSError):
            self.state.count("tls_errors")
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)


# -- start-up --------------------------------------------------------------------------------

def _write_file(path, data, mode=0o644):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def make_tls(directory):
    ca_key, ca_cert = fake_crypto.make_ca()
    key, cert = fake_crypto.make_server_cert(ca_key, ca_cert)
    _write_file(os.path.join(directory, "ca.pem"), fake_crypto.cert_pem(ca_cert))
    _write_file(os.path.join(directory, "server.pem"), fake_crypto.cert_pem(cert))
    _write_file(os.path.join(directory, "server.key"), fake_crypto.key_pem(key), 0o600)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
    return ctx


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="where ca.pem and url are written")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", help="JSON: tenants, apps, managed_identities")
    args = ap.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    try:
        config = {}
        if args.config:
            with open(args.config, encoding="utf-8") as f:
                config = json.load(f)
        state = FakeState(config)
    except (OSError, ValueError, ConfigError) as exc:
        print("fake_cloud: bad configuration: %s" % exc, file=sys.stderr)
        return 2
    tls = make_tls(args.dir)
    server = FakeServer(("127.0.0.1", args.port), state, tls)
    url = "https://127.0.0.1:%d" % server.server_address[1]
    others = _compliance_listeners(state, tls, args.dir)
    _write_file(os.path.join(args.dir, "url"), (url + "\n").encode())

    def stop(_signum, _frame):
        for srv in [server] + others:
            threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for srv in others:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    print("READY " + url, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for srv in [server] + others:
            srv.server_close()
    return 0


def _compliance_listeners(state, tls, directory):
    """Security & Compliance's front door and one listener per region, on ports of their own;
    their URLs go to DIR/compliance.json as {"frontdoor": URL, "regions": {label: URL}}."""
    front = FakeServer(("127.0.0.1", 0), state, tls, fake_compliance.frontdoor_endpoint)
    regions = {label: FakeServer(("127.0.0.1", 0), state, tls,
                                 functools.partial(fake_compliance.regional_endpoint, label=label))
               for label in REGIONS}
    state.region_urls = {label: "https://127.0.0.1:%d" % srv.server_address[1]
                         for label, srv in regions.items()}
    info = {"frontdoor": "https://127.0.0.1:%d" % front.server_address[1],
            "regions": state.region_urls}
    _write_file(os.path.join(directory, "compliance.json"), json.dumps(info).encode())
    return [front] + list(regions.values())


if __name__ == "__main__":
    sys.exit(main())
