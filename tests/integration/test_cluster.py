"""[cluster]: several exods share each profile's budget through a real redis-server.

Every test starts its own redis-server on a Unix socket in a private directory
(no port, nothing saved) and two or three exods against the simulated cloud.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

import sealed
from conftest import Exod, profile_text, wait_for
from test_delegated import device_profile, login_device

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
LEASE = 2                       # lease_time in the tests, seconds

pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_SERVER),
                                reason="redis-server is not installed (make deps)")


class Redis:
    """A redis-server of our own on a Unix socket; stop() and start() again keep the path."""

    def __init__(self, workdir, *args):
        self.args = list(args)
        self.dir = workdir
        self.socket = os.path.join(workdir, "redis.sock")
        self.log = os.path.join(workdir, "redis.log")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", "0", "--unixsocket", self.socket, "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", self.dir, "--logfile", self.log,
             "--daemonize", "no"] + self.args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.cli("PING") == "PONG", "redis-server to answer", timeout=15)
        return self

    def cli(self, *args):
        auth = ["-a", self.args[1], "--no-auth-warning"] if self.args[:1] == ["--requirepass"] else []
        r = subprocess.run([REDIS_CLI, "-s", self.socket] + auth + list(args), capture_output=True,
                           timeout=10)
        return r.stdout.decode(errors="replace").strip() if r.returncode == 0 else None

    def raw(self, *args):
        """A reply's bytes as they are (redis-cli --no-raw would quote them)."""
        return subprocess.run([REDIS_CLI, "-s", self.socket, "--raw"] + list(args),
                              capture_output=True, timeout=10).stdout

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None


@pytest.fixture
def redis(tmp_path_factory):
    r = Redis(str(tmp_path_factory.mktemp("redis"))).start()
    yield r
    r.stop()


@pytest.fixture
def nodes(tmp_path_factory, redis):
    """make(name, profile_section, redis, **cluster keys) -> a started exod; all stopped at the end."""
    started = []

    def make(name, section, redis, start=True, key_from=None, **cluster):
        keys = {"redis": "unix:" + redis.socket, "node": name, "key_prefix": "t:",
                "lease_time": LEASE}
        keys.update(cluster)
        text = section + "[cluster]\n" + "".join("%s = %s\n" % kv for kv in keys.items())
        e = Exod(str(tmp_path_factory.mktemp("node-" + name)), text)
        if key_from is not None:        # delegated sign-ins: the same cache_key_file on every node
            shutil.copyfile(key_from.cache_key, e.cache_key)
        started.append(e)
        return e.start() if start else e

    yield make
    for e in started:
        if e.proc is not None and e.proc.returncode is None and e.proc.poll() is None:
            assert e.stop() == 0, e.log_text()[-4000:]


def started(nodes, redis, section, names="ab", **kw):
    """Nodes of one profile, each holding its token."""
    out = [nodes(n, section, redis, **kw) for n in names]
    for e in out:
        wait_for(lambda e=e: status(e)["state"] == "connected", "a token on every node")
    return out


def status(e):
    [p] = e.request({"op": "status"})[-1]["profiles"]
    return p


def run(e, size=1, progress=False):
    req = {"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": size}}
    if progress:
        req["progress"] = True
    return e.request(req)


def in_parallel(calls):
    """Runs each (exod, kwargs) in a thread of its own; the answers, in order."""
    out = [None] * len(calls)

    def one(i, e, kw):
        try:
            out[i] = run(e, **kw)
        except Exception as x:         # noqa: BLE001 - the test reports it
            out[i] = [{"type": "exception", "error": repr(x)}]

    threads = [threading.Thread(target=one, args=(i, e, kw)) for i, (e, kw) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_cap_holds_across_nodes(nodes, redis, fake, creds):
    fake.knobs(latency_ms=300)
    section = profile_text("contoso", fake, creds, max_connections=3, queue_timeout=60)
    a, b, c = started(nodes, redis, section, "abc")
    fake.reset()
    answers = in_parallel([((a, b, c)[i % 3], {}) for i in range(20)])
    assert [x[-1]["type"] for x in answers] == ["done"] * 20, answers
    counters = fake.counters()
    assert counters["invoke_requests"] == 20
    # Three nodes of 3 each would be 9 at once without the cluster; the service allows 3.
    assert counters["max_in_flight"] <= 3, counters["max_in_flight"]
    assert counters["max_in_flight"] >= 2       # the load did overlap
    st = status(a)["cluster"]
    assert st["node"] == "a" and st["redis"] == "up" and st["fallback_cap"] is None
    wait_for(lambda: sorted(status(a)["cluster"]["nodes"]) == ["a", "b", "c"], "every node seen")
    wait_for(lambda: status(b)["cluster"]["in_flight"] == 0, "the leases given back")
    m = a.request({"op": "metrics"})[-1]["metrics"]["profiles"]["contoso"]
    assert m["cluster_nodes"] == 3 and m["cluster_up"] == 1
    text = a.request({"op": "metrics", "format": "prometheus"})[-1]["text"]
    assert 'exod_cluster_nodes{profile="contoso"} 3' in text
    assert 'exod_cluster_in_flight{profile="contoso"}' in text


def test_a_dead_node_gives_its_slot_back_within_the_lease(nodes, redis, fake, creds):
    fake.knobs(latency_ms=4000)
    # One slot for the tenant; B gives up after 6 s in the queue: more than the lease (2 s)
    # and a renewal (2/3 s), far less than a slot that never comes back.
    section = profile_text("contoso", fake, creds, max_connections=1, queue_timeout=6)
    a, b = started(nodes, redis, section)
    fake.reset()
    hung = threading.Thread(target=lambda: in_parallel([(a, {})]))
    hung.start()
    wait_for(lambda: fake.counters()["in_flight"] == 1, "A's request upstream")
    wait_for(lambda: status(b)["cluster"]["in_flight"] == 1, "B to see A's lease")
    a.proc.kill()                       # SIGKILL: nothing given back
    a.proc.wait()
    killed = time.monotonic()
    answer = run(b, progress=True)
    waited = time.monotonic() - killed
    assert answer[-1]["type"] == "done", answer
    states = [x["state"] for x in answer if x["type"] == "progress"]
    assert states[0] == "queued", states    # behind the dead node's lease at first
    # Granted once the lease ran out (plus a renewal), then the fake's 4 s.
    assert waited < LEASE + 1 + 4 + 2, waited
    hung.join(30)
    a.logf.close()


def test_a_429_on_one_node_holds_the_others(nodes, redis, fake, creds):
    section = profile_text("contoso", fake, creds)
    a, b = started(nodes, redis, section)
    fake.knobs(throttle={"count": 1, "retry_after": 4})
    first = threading.Thread(target=lambda: in_parallel([(a, {})]))
    first.start()
    wait_for(lambda: fake.counters()["throttled"] == 1, "A's 429")
    # B has sent nothing, and holds all the same, at once (the notification).
    wait_for(lambda: status(b)["throttled_for"] > 0, "B to hold the profile", timeout=2)
    sent = fake.counters()["invoke_requests"]
    answer = run(b, progress=True)
    assert answer[-1]["type"] == "done", answer
    assert "throttled" in [x["state"] for x in answer if x["type"] == "progress"]
    first.join(30)
    # B's request went out once, after the hold: no second 429.
    c = fake.counters()
    assert c["throttled"] == 1 and c["invoke_requests"] == sent + 2


def test_a_node_that_starts_during_a_hold_holds_too(nodes, redis, fake, creds):
    section = profile_text("contoso", fake, creds)
    a = nodes("a", section, redis)
    wait_for(lambda: status(a)["state"] == "connected", "a token")
    # A hold long enough for B to start even under valgrind (several seconds).
    fake.knobs(throttle={"count": 1, "retry_after": 20})
    first = threading.Thread(target=lambda: in_parallel([(a, {})]))
    first.start()
    wait_for(lambda: fake.counters()["throttled"] == 1, "A's 429")
    # B was not there for the notification: it reads the hold when it joins.
    b = nodes("b", section, redis)
    wait_for(lambda: status(b)["throttled_for"] > 6, "B to read the hold from Redis")
    first.join(60)


def test_one_sign_in_serves_every_node(nodes, redis, fake, creds):
    fake.knobs(device_interval=0.2)
    section = device_profile(fake)
    a = nodes("a", section, redis)
    b = nodes("b", section, redis, key_from=a)
    assert run(b)[-1]["error"]["code"] == "NeedsLogin"
    event, done = login_device(a, fake, creds["user"])
    assert done["type"] == "done"
    # B never saw a device code: it takes the sign-in A shares, and refreshes with it.
    wait_for(lambda: status(b)["state"] == "connected", "B signed in by A's login")
    assert status(b)["identity"] == creds["user"]
    assert run(b)[-1]["type"] == "done"
    # In Redis only sealed, under the nodes' cache_key_file; never the token in clear.
    blob = redis.raw("GET", "t:contoso@contoso.onmicrosoft.com:rt").rstrip(b"\n")
    assert sealed.is_sealed(blob), blob[:16]
    inside = json.loads(sealed.unseal(blob, sealed.read_key(a.cache_key), "contoso"))
    assert inside["upn"] == creds["user"] and inside["refresh_token"]
    assert inside["refresh_token"].encode() not in redis.raw("KEYS", "*")
    # exoctl logout on B signs A out too.
    assert b.request({"op": "logout"})[-1]["type"] == "done"
    wait_for(lambda: status(a)["state"] == "needs_login", "A signed out by B's logout")
    assert run(a)[-1]["error"]["code"] == "NeedsLogin"
    assert redis.cli("EXISTS", "t:contoso@contoso.onmicrosoft.com:rt") == "0"
    assert not os.path.exists(os.path.join(a.dir, "state", "contoso.token"))


def test_a_node_away_during_a_logout_signs_out_when_back(nodes, redis, fake, creds):
    fake.knobs(device_interval=0.2)
    section = device_profile(fake)
    a = nodes("a", section, redis)
    b = nodes("b", section, redis, key_from=a)
    login_device(a, fake, creds["user"])
    wait_for(lambda: status(b)["state"] == "connected", "B signed in by A's login")
    cache = os.path.join(b.dir, "state", "contoso.token")
    assert os.path.exists(cache)
    assert b.stop() == 0
    assert a.request({"op": "logout"})[-1]["type"] == "done"
    # B comes back with its own copy on disk, and finds the cluster signed out: it signs out too.
    b.start()
    wait_for(lambda: status(b)["state"] == "needs_login", "B signed out")
    assert not os.path.exists(cache)
    assert run(b)[-1]["error"]["code"] == "NeedsLogin"
    assert redis.cli("EXISTS", "t:contoso@contoso.onmicrosoft.com:rt") == "0"


def test_refreshes_from_both_nodes_never_reuse_a_rotated_token(nodes, redis, fake, creds):
    # The fake refuses a rotated-out refresh token at once, and counts every try.
    fake.knobs(device_interval=0.2, refresh_token_grace=0)
    section = device_profile(fake)
    a = nodes("a", section, redis)
    b = nodes("b", section, redis, key_from=a)
    login_device(a, fake, creds["user"])
    wait_for(lambda: status(b)["state"] == "connected", "B signed in by A's login")
    fake.reset()
    results = []

    def refresher(e):
        for _ in range(8):
            results.append(e.request({"op": "refresh"})[-1])

    def runner(e):
        for _ in range(10):
            results.append(run(e)[-1])

    threads = [threading.Thread(target=f, args=(e,)) for e in (a, b) for f in (refresher, runner)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [r["type"] for r in results] == ["done"] * 36, [r for r in results if r["type"] != "done"]
    c = fake.counters()
    assert c["token_requests"].get("refresh_token", 0) >= 16
    assert c["refresh_reused"] == 0
    for e in (a, b):
        assert status(e)["state"] == "connected"


def test_redis_stopped_and_restarted_under_load(nodes, redis, fake, creds):
    fake.knobs(latency_ms=50)
    section = profile_text("contoso", fake, creds, max_connections=2, queue_timeout=60)
    a, b = started(nodes, redis, section)
    for e in (a, b):
        wait_for(lambda e=e: status(e)["cluster"]["nodes"] == ["a", "b"], "both nodes seen")
    results, stop = [], threading.Event()

    def load(e):
        while not stop.is_set() and len(results) < 400:
            results.append(run(e)[-1])

    threads = [threading.Thread(target=load, args=(e,)) for e in (a, b) for _ in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: len(results) >= 20, "load before the outage")
    redis.stop()
    for e in (a, b):
        wait_for(lambda e=e: status(e)["cluster"]["redis"] == "unreachable", "the fallback")
        # max_connections 2 over the 2 nodes last seen.
        assert status(e)["cluster"]["fallback_cap"] == 1
    during = len(results)
    wait_for(lambda: len(results) >= during + 20, "load served during the outage")
    redis.start()
    for e in (a, b):
        wait_for(lambda e=e: status(e)["cluster"]["redis"] == "up", "the rejoin", timeout=20)
    after = len(results)
    wait_for(lambda: len(results) >= after + 20, "load after the rejoin")
    stop.set()
    for t in threads:
        t.join(60)
    assert [r["type"] for r in results] == ["done"] * len(results), \
        [r for r in results if r["type"] != "done"]
    for e in (a, b):
        log = e.log_text()
        assert log.count("cannot be reached") == 1, log        # said once
        assert "is back after" in log
        assert status(e)["cluster"]["fallback_cap"] is None
    # The leases of what ran through the outage were put back: Redis counts them again.
    wait_for(lambda: status(a)["cluster"]["in_flight"] == 0, "every lease given back")


def test_cluster_fallback_fail_refuses_while_redis_is_gone(nodes, redis, fake, creds):
    section = profile_text("contoso", fake, creds)
    a = nodes("a", section, redis, cluster_fallback="fail")
    wait_for(lambda: status(a)["state"] == "connected", "a token")
    assert run(a)[-1]["type"] == "done"
    redis.stop()
    wait_for(lambda: status(a)["cluster"]["redis"] == "unreachable", "Redis gone")
    err = run(a)[-1]
    assert err["type"] == "error" and err["error"]["code"] == "Throttled", err
    assert "cluster_fallback = fail" in err["error"]["message"]
    assert status(a)["cluster"]["fallback_cap"] is None
    redis.start()
    wait_for(lambda: status(a)["cluster"]["redis"] == "up", "Redis back", timeout=20)
    assert run(a)[-1]["type"] == "done"


def test_no_cluster_no_cluster_fields(exod, fake):
    [p] = exod.request({"op": "status"})[-1]["profiles"]
    assert "cluster" not in p
    text = exod.request({"op": "metrics", "format": "prometheus"})[-1]["text"]
    assert "exod_cluster" not in text


ANALYZE = shutil.which("systemd-analyze")
DEBIAN_REDIS_UNIT = "/lib/systemd/system/redis-server.service"


@pytest.mark.skipif(ANALYZE is None or not os.path.exists(DEBIAN_REDIS_UNIT),
                    reason="needs systemd-analyze and Debian's redis-server.service")
def test_shipped_drop_ins_verify(tmp_path):
    """systemd/exod-cluster.conf and systemd/redis-exod.conf, where README says to put them."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    exod = os.environ.get("EXOD_BIN", os.path.join(root, "build", "exod"))
    d = str(tmp_path)
    r = subprocess.run(["make", "-s", "-C", root, "BUILD=" + d, "SBINDIR=" + os.path.dirname(exod),
                        os.path.join(d, "exod.service"), os.path.join(d, "exod.socket")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    os.makedirs(os.path.join(d, "exod.service.d"))
    os.makedirs(os.path.join(d, "redis-server.service.d"))
    shutil.copy(os.path.join(root, "systemd", "exod-cluster.conf"),
                os.path.join(d, "exod.service.d", "cluster.conf"))
    shutil.copy(os.path.join(root, "systemd", "redis-exod.conf"),
                os.path.join(d, "redis-server.service.d", "exod.conf"))
    shutil.copy(DEBIAN_REDIS_UNIT, d)
    r = subprocess.run([ANALYZE, "--no-pager", "verify", "--man=no",
                        os.path.join(d, "exod.service"), os.path.join(d, "exod.socket"),
                        os.path.join(d, "redis-server.service")],
                       cwd=d, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, SYSTEMD_COLORS="0", SYSTEMD_PAGER="cat"))
    assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", r.stdout + r.stderr
    with open(os.path.join(root, "systemd", "redis-exod.conf")) as f:
        redis_drop_in = f.read()
    with open(os.path.join(root, "README.md")) as f:
        readme = f.read()
    assert "--unixsocket /run/redis/redis-server.sock --unixsocketperm 770" in redis_drop_in
    assert "redis = unix:/run/redis/redis-server.sock" in readme


def test_redis_password(tmp_path_factory, nodes, fake, creds):
    """AUTH with redis_password_file, a secret file; a wrong one is said, and nothing is shared."""
    r = Redis(str(tmp_path_factory.mktemp("redis-auth")), "--requirepass", "s3cret-pass").start()
    try:
        d = str(tmp_path_factory.mktemp("pass"))
        good, bad = os.path.join(d, "good"), os.path.join(d, "bad")
        for path, text in ((good, "s3cret-pass\n"), (bad, "wrong\n")):
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(text)
        section = profile_text("contoso", fake, creds)
        a = nodes("a", section, r, redis_password_file=good)
        b = nodes("b", section, r, redis_password_file=bad)
        wait_for(lambda: status(a)["cluster"]["redis"] == "up", "A in")
        wait_for(lambda: status(b)["cluster"]["redis"] == "unreachable", "B refused")
        assert "Redis refused the password (redis_password_file)" in b.log_text()
        assert "s3cret" not in a.log_text() + b.log_text()
        assert run(b)[-1]["type"] == "done"        # on its fallback share
        assert status(a)["cluster"]["nodes"] == ["a"]
    finally:
        for e in (a, b):
            e.stop()
        r.stop()


def test_reload(nodes, redis, fake, creds):
    """A changed profile joins again on SIGHUP; a changed [cluster] takes a restart."""
    a, = started(nodes, redis, profile_text("contoso", fake, creds), names="a")
    with open(a.conf) as f:
        text = f.read()
    with open(a.conf, "w") as f:
        f.write(text.replace("[cluster]", "max_connections = 2\n[cluster]"))
    a.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in a.log_text(), "the reload")
    wait_for(lambda: status(a)["state"] == "connected", "the restarted profile's token")
    assert status(a)["max_connections"] == 2 and status(a)["cluster"]["redis"] == "up"
    assert run(a)[-1]["type"] == "done"
    with open(a.conf, "w") as f:
        f.write(text.replace("lease_time = %d" % LEASE, "lease_time = 9"))
    a.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in a.log_text(), "the refusal")
    assert "[cluster] take a restart to change" in a.log_text()
    assert run(a)[-1]["type"] == "done"
