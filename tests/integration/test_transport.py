"""The way to the service: a configured proxy, and a password typed at exoctl's prompt."""

import os
import pty
import select
import socket
import socketserver
import threading
import time

import pytest

from conftest import EXOCTL, profile_text


class ConnectProxy(socketserver.ThreadingTCPServer):
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that counts the tunnels it opened."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ConnectHandler)
        self.tunnels = []

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class ConnectHandler(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        method, target = head.split(b" ")[:2]
        if method != b"CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        host, port = target.decode().rsplit(":", 1)
        assert host == "127.0.0.1", "the proxy only reaches the loopback fake"
        self.server.tunnels.append(target.decode())
        upstream = socket.create_connection((host, int(port)))
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pair = [self.request, upstream]
        while True:
            ready, _, _ = select.select(pair, [], [], 30)
            if not ready:
                break
            for s in ready:
                data = s.recv(65536)
                if not data:
                    upstream.close()
                    return
                (upstream if s is self.request else self.request).sendall(data)


@pytest.fixture
def proxy():
    p = ConnectProxy()
    t = threading.Thread(target=p.serve_forever, daemon=True)
    t.start()
    yield p
    p.shutdown()
    p.server_close()


def test_configured_proxy_carries_token_and_exchange_traffic(exod_factory, fake, creds, proxy):
    e = exod_factory(profile_text("contoso", fake, creds, proxy=proxy.url)).start()
    r = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 2}})
    assert r[-1]["type"] == "done" and r[-1]["count"] == 2
    port = fake.url.rsplit(":", 1)[1]
    assert proxy.tunnels and all(t == "127.0.0.1:" + port for t in proxy.tunnels)


def test_login_password_at_the_prompt(exod_factory, fake, creds):
    e = exod_factory(profile_text("contoso", fake, creds, auth="password", app_id=None,
                                  certificate_file=None, certificate_password_file=None,
                                  user_principal_name=creds["user"])).start()
    assert e.request({"op": "run", "cmdlet": "Get-Mailbox"})[-1]["error"]["code"] == "NeedsLogin"
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["EXOD_SOCKET"] = e.socket
        os.execv(EXOCTL, [EXOCTL, "login", "--password"])
    out = b""
    sent = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not sent and b"assword" in out:
                os.write(fd, (creds["password"] + "\n").encode())
                sent = True
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert creds["password"] not in text          # not echoed
    assert creds["user"] in text
    assert e.request({"op": "run", "cmdlet": "Get-Mailbox"})[-1]["type"] == "done"
    assert creds["password"] not in e.log_text()


def test_systemd_credentials_for_certificate_and_password(exod_factory, fake, creds, tmp_path):
    import shutil
    creddir = tmp_path / "credentials"
    creddir.mkdir(mode=0o700)
    for name in ("app.pfx", "app.pfx.pass"):
        shutil.copy(os.path.join(os.path.dirname(creds["pfx"]), name), creddir / name)
        (creddir / name).chmod(0o600)
    e = exod_factory(profile_text("contoso", fake, creds, certificate_file="app.pfx",
                                  certificate_password_file="app.pfx.pass"))
    e.start(env={"CREDENTIALS_DIRECTORY": str(creddir)})
    assert e.request({"op": "run", "cmdlet": "Get-Mailbox"})[-1]["type"] == "done"
