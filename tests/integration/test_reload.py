"""SIGHUP: reload without dropping the warm sessions of unchanged profiles."""

import json
import signal

from conftest import profile_text, wait_for


def statuses(e):
    return {p["name"]: p for p in e.request({"op": "status"})[-1]["profiles"]}


def rewrite(e, profiles_text):
    with open(e.conf) as f:
        head = f.read().split("[profile", 1)[0]
    with open(e.conf, "w") as f:
        f.write(head + profiles_text)


def run(e, profile):
    return e.request({"op": "run", "profile": profile, "cmdlet": "Get-Mailbox",
                      "params": {"ResultSize": 1}})[-1]


def test_reload_keeps_unchanged_profiles_warm(exod_factory, fake, creds):
    a = profile_text("a", fake, creds)
    e = exod_factory(a + profile_text("b", fake, creds, auth="secret")).start()
    assert run(e, "a")["type"] == "done" and run(e, "b")["type"] == "done"
    before = statuses(e)
    rewrite(e, a + profile_text("b", fake, creds, auth="secret", max_connections=5)
            + profile_text("c", fake, creds, auth="secret"))
    e.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "c" in statuses(e), "profile c")
    after = statuses(e)
    assert after["a"]["connection_id"] == before["a"]["connection_id"]
    assert after["a"]["token_acquisitions"] == before["a"]["token_acquisitions"]
    assert after["a"]["state"] == "connected"
    assert after["b"]["connection_id"] != before["b"]["connection_id"]
    assert after["b"]["max_connections"] == 5
    assert all(run(e, p)["type"] == "done" for p in "abc")
    assert "reloaded" in e.log_text()


def test_bad_file_changes_nothing(exod_factory, fake, creds):
    e = exod_factory(profile_text("a", fake, creds)).start()
    before = statuses(e)
    rewrite(e, profile_text("a", fake, creds) + "max_connections = many\n")
    e.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in e.log_text(), "the reload to fail")
    assert "max_connections" in e.log_text()
    assert statuses(e)["a"]["connection_id"] == before["a"]["connection_id"]
    assert run(e, "a")["type"] == "done"


def test_removed_profile_finishes_what_it_runs(exod_factory, fake, creds):
    a, b = profile_text("a", fake, creds), profile_text("b", fake, creds, auth="secret")
    e = exod_factory(a + b).start()
    fake.knobs(latency_ms=1500)
    s = e.connect()
    s.sendall(b'{"id":"long","op":"run","profile":"b","cmdlet":"Get-Mailbox","params":{"ResultSize":2}}\n')
    wait_for(lambda: fake.counters()["in_flight"] == 1, "b's request upstream")
    rewrite(e, a)
    e.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "b" not in statuses(e), "b removed")
    f = s.makefile("rb")
    lines = [json.loads(f.readline()) for _ in range(4)]
    # Two records, the service's "more results" warning (ResultSize 2 of many), the end.
    assert [l["type"] for l in lines] == ["record", "record", "warning", "done"]
    assert lines[-1]["count"] == 2
    fake.knobs(latency_ms=0)
    assert run(e, "b")["error"]["code"] == "UnknownProfile"
