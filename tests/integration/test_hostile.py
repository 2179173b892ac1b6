"""No local client or upstream can crash exod, grow it without bound, lock others out or carry a token away."""

import json
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import EXOD, profile_text, read_answer, wait_for

SLOW = bool(os.environ.get("EXOD_VALGRIND") or os.environ.get("EXOD_SANITIZED"))
PYTHON = "/usr/bin/python3"


def start(exod_factory, fake, creds, exod_keys="", **keys):
    """exod with one profile; exod_keys are lines for the [exod] section."""
    return exod_factory(exod_keys + profile_text("contoso", fake, creds, **keys)).start()


def status(e, sock=None):
    return e.request({"op": "status"}, sock)[-1]["profiles"][0]


def read_lines(s, n):
    """n answer lines, each parsed (raises on a line that is not UTF-8 JSON)."""
    f = s.makefile("rb")
    return [json.loads(f.readline().decode("utf-8")) for _ in range(n)]


# -- bytes exod must refuse, on that connection only ---------------------------------------

NUL_LINES = [
    b'{"id":"a\0b","op":"ping"}',
    b'{"id":"a","op":"pi\0ng"}',
    b'{"id":"a","op":"run","profile":"con\0toso","cmdlet":"Get-Mailbox"}',
    b'{"id":"a","op":"run","cmdlet":"Get-\0Mailbox"}',
    b'{"id":"a","op":"run","cmdlet":"Get-Mailbox","params":{"Iden\0tity":"x"}}',
    b'{"id":"a","op":"run","cmdlet":"Get-Mailbox","params":{"Identity":"x\0y"}}',
    b'{"id":"a","op":"run","cmdlet":"Get-Mailbox","params":{"Identity":"x\\u0000y"}}',
    b'{"id":"a","op":"login","password":"pass\0word"}',
    b'\0{"op":"ping"}',
    b'{"op":"ping"}\0',
]


def test_nul_bytes_in_every_field_are_bad_requests(exod):
    s = exod.connect()
    for line in NUL_LINES:
        s.sendall(line + b"\n" + b'{"id":"next","op":"ping"}\n')
        bad, good = read_lines(s, 2)
        assert bad["type"] == "error" and bad["error"]["code"] == "BadRequest", line
        assert "NUL" in bad["error"]["message"], line
        assert good["id"] == "next" and good["pong"] is True
    assert exod.proc.poll() is None


def test_nul_byte_from_socat_as_in_the_report(exod):
    r = subprocess.run(["socat", "-t", "5", "-", "UNIX-CONNECT:" + exod.socket],
                       input=b'{"id":"a\0b","op":"ping"}\n', capture_output=True, timeout=30)
    [answer] = [json.loads(l) for l in r.stdout.splitlines()]
    assert answer["error"]["code"] == "BadRequest"
    assert exod.request({"op": "ping"})[-1]["pong"] is True


def test_invalid_utf8_is_refused_and_never_echoed(exod):
    s = exod.connect()
    for line in (b'{"id":"\xc0\xaf","op":"ping"}', b'{"id":"\xed\xa0\x80","op":"ping"}',
                 b'{"id":"\xff","op":"ping"}', b'{"id":"x","op":"ping","p":"\xf4\x90\x80\x80"}',
                 b'{"id":"\\udc00","op":"ping"}'):
        s.sendall(line + b"\n")
        raw = s.makefile("rb").readline()
        answer = json.loads(raw.decode("utf-8"))      # valid UTF-8, or this raises
        assert answer["error"]["code"] == "BadRequest" and "UTF-8" in answer["error"]["message"]
        assert "id" not in answer
    assert exod.request({"id": "ok", "op": "ping"}, s)[-1]["id"] == "ok"


def test_upstream_text_that_is_not_utf8_reaches_the_client_repaired(exod, fake):
    fake.knobs(bad_utf8=True)
    s = exod.connect()
    s.sendall(b'{"op":"run","cmdlet":"Get-Mailbox","params":{"ResultSize":2}}\n')
    raw = s.makefile("rb").readline()
    record = json.loads(raw.decode("utf-8"))
    assert record["data"]["DisplayName"].startswith("\ufffd\ufffd\ufffd")


def test_lines_after_a_cancel_are_answered(exod, fake):
    """run, cancel and ping in one write: the cancel ends the run and the ping is still answered."""
    fake.knobs(latency_ms=2000)
    s = exod.connect()
    s.sendall(b'{"id":1,"op":"run","cmdlet":"Get-Mailbox"}\n{"op":"cancel"}\n{"id":2,"op":"ping"}\n')
    first, second = read_lines(s, 2)
    assert first["id"] == 1 and first["error"]["code"] == "Cancelled"
    assert second["id"] == 2 and second["pong"] is True


# -- the two crashes, and a flood of lines ---------------------------------------------

def test_flood_of_pipelined_lines_behind_a_queued_request(exod_factory, fake, creds):
    """~130,000 lines behind a run that waits in the pool queue: no recursion, all answered in order."""
    n = 20000 if SLOW else 130000
    fake.knobs(latency_ms=1500)
    e = start(exod_factory, fake, creds, max_connections=1)
    holder = e.connect()
    holder.sendall(b'{"op":"run","cmdlet":"Get-Mailbox","params":{"ResultSize":1}}\n')
    wait_for(lambda: status(e)["in_flight"] == 1, "the slot to be taken")
    s = e.connect()
    s.sendall(b'{"id":"run","op":"run","cmdlet":"Get-Mailbox","params":{"ResultSize":1}}\n')
    wait_for(lambda: status(e)["queued"] == 1, "the run to queue")
    answers, errors = [], []

    def reader():
        f = s.makefile("rb")
        try:
            while len(answers) < n + 3:
                line = f.readline()
                if not line:
                    break
                answers.append(json.loads(line))
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(b"".join(b'{"id":%d,"op":"ping"}\n' % i for i in range(n)))
    t.join(timeout=600)
    assert not errors and not t.is_alive()
    assert e.proc.poll() is None
    # The run's record, the service's "more results" warning (ResultSize 1 of many), its end.
    assert [a["type"] for a in answers[:3]] == ["record", "warning", "done"]
    assert {a["id"] for a in answers[:3]} == {"run"}
    assert [a["id"] for a in answers[3:]] == list(range(n))
    read_answer(holder)


def test_three_thousand_simultaneous_connections(exod_factory, fake, creds):
    n = 3000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < n + 200:
        pytest.skip("RLIMIT_NOFILE hard limit %d is below %d" % (hard, n + 200))
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 200), hard))
    e = start(exod_factory, fake, creds, exod_keys="max_clients = 4000\n")
    socks = []
    try:
        for _ in range(n):
            socks.append(e.connect())
        for i, s in enumerate(socks):
            s.sendall(b'{"id":%d,"op":"ping"}\n' % i)
        for i, s in enumerate(socks):
            assert read_answer(s)[-1]["id"] == i
        m = e.request({"op": "metrics"})[-1]["metrics"]
        assert m["clients"] >= n
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert e.request({"op": "ping"})[-1]["pong"] is True


# -- local users cannot lock each other out --------------------------------------------

CLIENT = r"""
import json, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
out, socks = [], []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    try:
        s.sendall(b'{"op":"ping"}\n')
    except OSError:
        pass               # a refused connection may already be closed: its answer is waiting
    line = s.makefile("rb").readline()
    out.append(json.loads(line) if line else {"closed": True})
    socks.append(s)
print(json.dumps(out), flush=True)
sys.stdin.read()       # hold the connections until told
"""


class Peer:
    """A client process running as another uid, holding n connections until closed."""

    def __init__(self, sock_path, uid, n):
        self.proc = subprocess.Popen(
            ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
             PYTHON, "-c", CLIENT, sock_path, str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.answers = json.loads(self.proc.stdout.readline())

    def codes(self):
        return [a.get("error", {}).get("code", "ok") if "type" in a else "closed"
                for a in self.answers]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def shared_socket_exod(exod_factory, fake, creds):
    """An exod whose socket other uids can reach (mode 0666 in a 0755 directory)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to connect as other users")
    d = tempfile.mkdtemp(prefix="exod-shared-")
    os.chmod(d, 0o755)

    def make(exod_keys, **keys):
        e = exod_factory(exod_keys + "socket_mode = 0666\n" +
                         profile_text("contoso", fake, creds, **keys))
        e.socket = os.path.join(d, "exod.sock")
        with open(e.conf) as f:
            text = f.read()
        with open(e.conf, "w") as f:
            f.write(text.replace("socket = %s\n" % os.path.join(e.dir, "exod.sock"),
                                 "socket = %s\n" % e.socket, 1))
        return e.start()
    yield make
    shutil.rmtree(d, ignore_errors=True)


def test_a_uid_over_its_limit_while_another_is_served(shared_socket_exod):
    e = shared_socket_exod("max_clients = 8\nmax_clients_per_uid = 3\nreserved_clients = 2\n")
    a = Peer(e.socket, 40001, 4)
    try:
        assert a.codes() == ["ok", "ok", "ok", "TooManyClients"]
        assert "max_clients_per_uid" in a.answers[3]["error"]["message"]
        b = Peer(e.socket, 40002, 3)        # 6 = max_clients - reserved_clients: all taken
        c = Peer(e.socket, 40003, 1)
        try:
            assert b.codes() == ["ok", "ok", "ok"]
            assert c.codes() == ["TooManyClients"]
            # root still gets in: the reserve is for root and exod's own user.
            assert e.request({"op": "ping"})[-1]["pong"] is True
        finally:
            b.close()
            c.close()
        # Once b has gone, another uid is served again.
        d = Peer(e.socket, 40003, 1)
        assert d.codes() == ["ok"]
        d.close()
    finally:
        a.close()
    assert "refused" in e.log_text()


def test_status_and_metrics_show_only_usable_profiles(shared_socket_exod):
    e = shared_socket_exod("", allow_users="40001")
    seen = {}
    for uid in (40001, 40002):
        out = subprocess.run(
            ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", PYTHON, "-c",
             "import json,socket,sys\n"
             "def ask(o):\n"
             "    s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
             "    s.sendall((json.dumps(o)+'\\n').encode()); return json.loads(s.makefile().readline())\n"
             "print(json.dumps([ask({'op':'status'}), ask({'op':'metrics'}),\n"
             "                  ask({'op':'status','profile':'contoso'})]))", e.socket],
            capture_output=True, text=True, timeout=30, check=True)
        seen[uid] = json.loads(out.stdout)
    st, m, named = seen[40001]
    assert [p["name"] for p in st["profiles"]] == ["contoso"]
    assert list(m["metrics"]["profiles"]) == ["contoso"]
    st, m, named = seen[40002]
    assert st["profiles"] == [] and m["metrics"]["profiles"] == {}
    assert named["error"]["code"] == "Forbidden"
    assert "contoso.onmicrosoft.com" not in json.dumps(seen[40002])


def test_read_only_is_a_list_of_cmdlets_not_a_verb(shared_socket_exod):
    e = shared_socket_exod("", allow_users="40009", read_only_users="40001")
    script = ("import json,socket,sys\n"
              "out=[]\n"
              "for c in sys.argv[2:]:\n"
              "    s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
              "    s.sendall((json.dumps({'op':'run','cmdlet':c,'params':{'ResultSize':1}})+'\\n').encode())\n"
              "    f=s.makefile()\n"
              "    while True:\n"
              "        m=json.loads(f.readline())\n"
              "        if m['type'] in ('done','error'): out.append(m.get('error',{}).get('code','ok')); break\n"
              "print(json.dumps(out))")
    cmdlets = ["Get-Mailbox", "Search-Mailbox", "Test-Message", "Export-DlpPolicyCollection",
               "Set-Mailbox", "Get-NoSuchCmdlet"]
    out = subprocess.run(["setpriv", "--reuid=40001", "--regid=40001", "--clear-groups", PYTHON,
                          "-c", script, e.socket] + cmdlets,
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == ["ok", "Forbidden", "Forbidden", "Forbidden", "Forbidden",
                                      "Forbidden"]


def test_half_a_line_is_cut_off_after_client_timeout(exod_factory, fake, creds):
    e = start(exod_factory, fake, creds, exod_keys="client_timeout = 1\n")
    s = e.connect()
    s.sendall(b'{"op":"pi')
    data = s.makefile("rb").read()          # until exod closes the connection
    [answer] = [json.loads(l) for l in data.splitlines()]
    assert answer["error"]["code"] == "Timeout" and "1 s" in answer["error"]["message"]
    assert "half a request line" in e.log_text()
    assert e.request({"op": "ping"})[-1]["pong"] is True


def test_a_client_that_stops_reading_is_dropped_after_send_timeout(exod_factory, fake, creds):
    fake.knobs(mailboxes=20000)        # answers far beyond what the socket buffers hold
    e = start(exod_factory, fake, creds, exod_keys="send_timeout = 1\n")
    s = e.connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'{"op":"run","cmdlet":"Get-Mailbox","params":{"ResultSize":"Unlimited"}}\n')
    wait_for(lambda: "left its answers unread" in e.log_text(), "exod to give up on the reader")
    wait_for(lambda: status(e)["in_flight"] == 0, "the pool slot to be freed")
    s.close()


def test_pipelined_answers_are_not_read_while_the_client_does_not_read(exod_factory, fake, creds):
    """metrics and status pipelined without reading: exod stops reading instead of growing."""
    e = start(exod_factory, fake, creds)
    s = e.connect()
    s.setblocking(False)
    line = b'{"op":"metrics"}\n'
    sent = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            sent += s.send(line * 256)
        except BlockingIOError:
            # Buffers full both ways: exod has stopped reading us. Give it a moment to prove it.
            if not select.select([], [s], [], 1.0)[1]:
                break
    assert sent > 0
    if not SLOW:
        with open("/proc/%d/status" % e.proc.pid) as f:
            rss_kb = int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
        assert rss_kb < 64 * 1024, rss_kb
    # Others are served meanwhile.
    assert e.request({"op": "ping"})[-1]["pong"] is True
    s.close()


def test_running_out_of_descriptors_pauses_instead_of_spinning(exod_factory, fake, creds):
    if os.environ.get("EXOD_VALGRIND"):
        pytest.skip("valgrind needs descriptors of its own")
    e = exod_factory(profile_text("contoso", fake, creds))
    e.logf = open(e.log, "ab")
    e.proc = subprocess.Popen(["prlimit", "--nofile=40:40", EXOD, "-c", e.conf],
                              stdout=e.logf, stderr=e.logf)
    e.wait_ready()
    socks = []
    for _ in range(80):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(e.socket)              # completes in the kernel's backlog even when exod cannot accept
        socks.append(s)
    with open("/proc/%d/stat" % e.proc.pid) as f:
        before = sum(int(x) for x in f.read().split(")")[1].split()[11:13])
    time.sleep(2)      # measuring, not waiting for a result: how much CPU exod burns meanwhile
    with open("/proc/%d/stat" % e.proc.pid) as f:
        after = sum(int(x) for x in f.read().split(")")[1].split()[11:13])
    ticks = os.sysconf("SC_CLK_TCK")
    assert (after - before) / ticks < 0.5, "exod used %.2f s of CPU" % ((after - before) / ticks)
    log = e.log_text()
    assert "cannot accept a client" in log
    assert log.count("Too many open files") < 20
    for s in socks:
        s.close()
    wait_for(lambda: e.request({"op": "ping"})[-1].get("pong") is True, "exod to serve again")


# -- a hostile or broken upstream ------------------------------------------------------

@pytest.mark.parametrize("where", ["other_host", "other_port", "http", "userinfo"])
def test_the_token_does_not_follow_a_next_page_elsewhere(exod, fake, where):
    # Pages of 3, and more wanted: exod would follow the link, if it were safe to.
    fake.knobs(next_link=where, page_size_cap=3)
    lines = exod.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 5}})
    assert [l["type"] for l in lines] == ["record"] * 3 + ["error"]
    assert lines[-1]["error"]["code"] == "Upstream"
    assert "another address" in lines[-1]["error"]["message"]
    assert fake.counters()["invoke_requests"] == 1


def test_a_next_page_that_is_the_page_itself_stops(exod, fake):
    fake.knobs(next_link="self", page_size_cap=2)
    err = exod.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 5}})[-1]
    assert err["error"]["code"] == "Upstream" and "itself" in err["error"]["message"]
    assert fake.counters()["invoke_requests"] == 1


def test_pages_going_round_in_circles_stop_at_max_pages(exod_factory, fake, creds):
    e = start(exod_factory, fake, creds, max_pages=4)
    fake.knobs(next_link="cycle", page_size_cap=2)
    lines = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 100}})
    assert lines[-1]["error"]["code"] == "Upstream" and "max_pages" in lines[-1]["error"]["message"]
    assert fake.counters()["invoke_requests"] == 4
    assert [l["type"] for l in lines].count("record") == 8


@pytest.mark.parametrize("retry_after", [99999999, 18446744073709551616123])
def test_retry_after_is_capped_and_shown(exod, fake, retry_after):
    fake.knobs(throttle={"count": 1, "retry_after": retry_after})
    err = exod.request({"op": "run", "cmdlet": "Set-Mailbox",
                        "params": {"Identity": "user0001", "Office": "x"}})[-1]["error"]
    assert err["code"] == "Throttled" and err["retry_after"] == 300
    st = status(exod)
    assert 0 < st["throttled_for"] <= 300


def test_a_service_that_refuses_every_token_gets_few_token_requests(exod_factory, fake, creds):
    exod = start(exod_factory, fake, creds, max_connections=10)
    exod.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})
    issued = fake.counters()["tokens_issued"]
    fake.knobs(reject_all_tokens=True)
    socks = []
    for _ in range(10):
        s = exod.connect()
        s.sendall(b'{"op":"run","cmdlet":"Get-Mailbox","params":{"ResultSize":1}}\n')
        socks.append(s)
    errors = [read_answer(s)[-1]["error"] for s in socks]
    assert all(e["code"] == "Upstream" and e["http_status"] == 401 for e in errors)
    # Ten runs at once, refused together, share one new token: not ten.  (That fresh tokens
    # refused again and again are fetched ever more slowly is tested on a fake clock, test_token.c.)
    assert fake.counters()["tokens_issued"] - issued <= 2
