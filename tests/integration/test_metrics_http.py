"""metrics_listen: GET /metrics over loopback HTTP, for Prometheus."""

import os
import select
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import EXOD, START_TIMEOUT, Exod, profile_text, wait_for

MAX_CONNS = 4                   # METRICS_HTTP_MAX_CONNS in daemon/metrics_http.h
MAX_HEADERS = 8192              # METRICS_HTTP_MAX_HEADERS
IDLE_S, DEADLINE_S = 10, 30     # METRICS_HTTP_TIMEOUT_S, METRICS_HTTP_DEADLINE_S


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def held_port():
    """A loopback port something else listens on, and that something."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s.getsockname()[1], s


def ipv6():
    try:
        socket.socket(socket.AF_INET6).close()
        return True
    except OSError:
        return False


def fetch(port, path="/metrics", method="GET", data=None):
    """(status, headers, body) of one request; an HTTP error status is an answer too."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def names(text):
    """Metric names with their labels' profile, and the HELP/TYPE lines."""
    samples = {l.split(" ")[0].split(",le=")[0] for l in text.splitlines() if l and l[0] != "#"}
    return samples, [l for l in text.splitlines() if l.startswith("#")]


def start(exod_factory, fake, creds, listen, **kw):
    return exod_factory("metrics_listen = %s\n" % listen + profile_text("contoso", fake, creds),
                        **kw).start()


def serves(port):
    try:
        return fetch(port)[0] == 200
    except OSError:
        return False


def test_get_answers_the_sockets_prometheus_text(exod_factory, fake, creds):
    port = free_port()
    e = start(exod_factory, fake, creds, str(port))      # a bare port: 127.0.0.1
    assert e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 2}})[-1][
        "type"] == "done"
    status, headers, body = fetch(port)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    http_text = body.decode()
    sock_text = e.request({"op": "metrics", "format": "prometheus"})[-1]["text"]
    assert names(http_text) == names(sock_text)
    assert 'exod_requests_total{profile="contoso"} 1' in http_text.splitlines()
    assert 'exod_records_total{profile="contoso"} 2' in http_text.splitlines()
    assert "serving metrics on http://127.0.0.1:%d/metrics" % port in e.log_text()

    status, headers, body = fetch(port, method="HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert int(headers["Content-Length"]) > 0


def test_other_paths_are_404_other_methods_405(exod_factory, fake, creds):
    port = free_port()
    start(exod_factory, fake, creds, "127.0.0.1:%d" % port)
    for path in ("/", "/metrics/", "/metricsx", "/status", "/metrics/../metrics"):
        assert fetch(port, path)[0] == 404, path
    assert fetch(port, "/metrics?x=1")[0] == 200
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, _ = fetch(port, method=method, data=b"x" if method == "POST" else None)
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"


def raw(port, data):
    """Sends data on a fresh connection, returns all exod answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else None


def test_huge_headers_and_bodies_are_refused(exod_factory, fake, creds):
    port = free_port()
    start(exod_factory, fake, creds, str(port))
    # evhttp answers 400 to a request line or headers past the limit, 413 to a body past it.
    big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (8 * MAX_HEADERS) + b"\r\n\r\n"
    assert status_of(raw(port, big)) == 400
    many = b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * MAX_HEADERS + b"\r\n"
    assert status_of(raw(port, many)) == 400
    long_line = b"GET /metrics?" + b"a" * (8 * MAX_HEADERS) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_of(raw(port, long_line)) == 400
    body = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"b" * 100000
    assert status_of(raw(port, body)) == 413
    # Just under the limits is a normal request.
    fits = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Fits: " + b"a" * (MAX_HEADERS // 2) + b"\r\n\r\n"
    assert status_of(raw(port, fits)) == 200
    assert fetch(port)[0] == 200


def test_a_few_connections_at_once(exod_factory, fake, creds):
    port = free_port()
    start(exod_factory, fake, creds, str(port))
    idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(MAX_CONNS)]
    try:
        late = socket.create_connection(("127.0.0.1", port), timeout=30)
        late.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        # Held in the backlog while the idle ones fill every slot: no answer yet...
        assert select.select([late], [], [], 0.5)[0] == []
        # ...and served as soon as one of them goes.
        idle.pop().close()
        f = late.makefile("rb")
        assert f.readline().startswith(b"HTTP/1.1 200")
        late.close()
    finally:
        for s in idle:
            s.close()
    assert fetch(port)[0] == 200


def test_idle_and_trickling_clients_are_cut(exod_factory, fake, creds):
    port = free_port()
    start(exod_factory, fake, creds, str(port))
    t0 = time.monotonic()
    idle = socket.create_connection(("127.0.0.1", port))
    trickle = socket.create_connection(("127.0.0.1", port))
    trickle.sendall(b"GET /metrics HTTP/1.1\r\n")
    closed = {}
    # A byte every 2 s keeps the idle timeout away from trickle; its deadline still comes.
    while len(closed) < 2:
        assert time.monotonic() - t0 < DEADLINE_S + 60, "not cut: %s" % closed
        if trickle not in closed:
            try:
                trickle.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                pass
        open_ = [sock for sock in (idle, trickle) if sock not in closed]
        for sock in select.select(open_, [], [], 2)[0]:
            try:
                assert sock.recv(100) == b"", "an answer to a request never finished"
            except ConnectionResetError:
                pass
            closed[sock] = time.monotonic() - t0
    assert IDLE_S - 1 <= closed[idle] < DEADLINE_S - 1, closed[idle]
    assert closed[trickle] >= DEADLINE_S - 1, closed[trickle]
    idle.close()
    trickle.close()
    assert fetch(port)[0] == 200


def test_running_out_of_descriptors_pauses_the_listener(exod_factory, fake, creds):
    if os.environ.get("EXOD_VALGRIND"):
        pytest.skip("valgrind needs descriptors of its own")
    port = free_port()
    e = exod_factory("metrics_listen = %d\n" % port + profile_text("contoso", fake, creds))
    e.logf = open(e.log, "ab")
    e.proc = subprocess.Popen(["prlimit", "--nofile=40:40", EXOD, "-c", e.conf],
                              stdout=e.logf, stderr=e.logf)
    e.wait_ready()
    clients = []
    for _ in range(80):                 # every descriptor exod has, and more in the backlog
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(e.socket)
        clients.append(c)
    late = socket.create_connection(("127.0.0.1", port), timeout=30)
    late.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_for(lambda: "metrics on 127.0.0.1:%d: cannot accept: Too many open files" % port
             in e.log_text(), "the listener to give up for a moment")
    for c in clients:
        c.close()
    assert late.makefile("rb").readline().startswith(b"HTTP/1.1 200")
    late.close()
    assert e.log_text().count("cannot accept: Too many open files") < 20


def test_reload_moves_the_listener(exod_factory, fake, creds):
    a, b = free_port(), free_port()
    e = start(exod_factory, fake, creds, str(a))
    assert serves(a)

    def relisten(value):
        with open(e.conf) as f:
            text = f.read()
        old = [l for l in text.splitlines() if l.startswith("metrics_listen")]
        line = "metrics_listen = %s" % value if value else ""
        with open(e.conf, "w") as f:
            f.write(text.replace(old[0], line) if old else text.replace(
                "[profile", line + "\n[profile", 1))
        e.proc.send_signal(signal.SIGHUP)

    relisten("127.0.0.1:%d" % b)
    wait_for(lambda: serves(b), "metrics on the new port")
    assert not serves(a)

    # A port that cannot be had fails the reload; the old one goes on serving.
    c, holder = held_port()
    try:
        relisten("127.0.0.1:%d" % c)
        wait_for(lambda: "reload failed" in e.log_text(), "the reload to fail")
        assert "metrics_listen 127.0.0.1:%d: cannot listen: Address already in use" % c \
            in e.log_text()
        assert serves(b)
    finally:
        holder.close()

    # An address that overlaps the old one on the same port (as 0.0.0.0 would; tests stay on
    # loopback): the old listener is let go of first.
    if ipv6():
        relisten("[::ffff:127.0.0.1]:%d" % b)
        wait_for(lambda: "serving metrics on http://[::ffff:127.0.0.1]:%d" % b in e.log_text(),
                 "the v4-mapped address")
        assert serves(b)
    assert "not a loopback address" not in e.log_text()

    relisten(None)
    wait_for(lambda: "no longer serving metrics" in e.log_text(), "metrics off")
    assert not serves(b)
    assert e.request({"op": "ping"})[-1]["type"] == "done"


def test_a_port_in_use_is_a_start_up_error(tmp_path, fake, creds):
    port, holder = held_port()
    try:
        e = Exod(str(tmp_path), "metrics_listen = %d\n" % port + profile_text("c", fake, creds))
        r = subprocess.run([EXOD, "-c", e.conf], capture_output=True, text=True,
                           timeout=START_TIMEOUT + 30)
    finally:
        holder.close()
    assert r.returncode == 1
    assert "metrics_listen 127.0.0.1:%d: cannot listen: Address already in use" % port \
        in r.stderr


def test_a_bad_value_names_file_line_and_key(tmp_path, fake, creds):
    e = Exod(str(tmp_path), "metrics_listen = localhost:9100\n" + profile_text("c", fake, creds))
    r = subprocess.run([EXOD, "-t", "-c", e.conf], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "exod.conf:6: metrics_listen: must be ADDRESS:PORT" in r.stderr
