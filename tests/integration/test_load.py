"""The pool cap and token rollover under concurrent load."""

import threading

from conftest import profile_text


def run_many(e, n, params=None):
    results = [None] * n

    def one(i):
        results[i] = e.request({"op": "run", "cmdlet": "Get-Mailbox",
                                "params": params or {"ResultSize": 3}})[-1]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_cap_is_never_exceeded(exod_factory, fake, creds):
    fake.knobs(latency_ms=150)
    e = exod_factory(profile_text("contoso", fake, creds, max_connections=2)).start()
    results = run_many(e, 8)
    assert all(r["type"] == "done" and r["count"] == 3 for r in results), results
    assert fake.counters()["max_in_flight"] == 2


def test_token_rollovers_under_load_fail_nothing(exod_factory, fake, creds):
    fake.knobs(token_lifetime=3, latency_ms=20)
    e = exod_factory(profile_text("contoso", fake, creds, refresh_margin=1)).start()
    failures, runs = [], 0
    # Until the fake has issued three more tokens: bounded by count, not by sleeping.
    for _ in range(2000):
        if fake.counters()["tokens_issued"] >= 4:
            break
        failures += [r for r in run_many(e, 4) if r["type"] != "done"]
        runs += 4
    c = fake.counters()
    assert c["tokens_issued"] >= 4
    assert failures == []
    # A token that expires on its way (a loaded machine: 3 s tokens, 1 s margin) is refused
    # upstream; exod then fetches a new one and sends that run again, exactly once, and the
    # client never sees it.
    assert c["invoke_requests"] == runs + c["unauthorized"], c
