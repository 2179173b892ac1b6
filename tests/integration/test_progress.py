"""Progress lines of a run ("progress": true): why it waits, what it has delivered; none unasked."""

import json

from conftest import read_answer
from test_pool import start, status, wait_for


def send(e, req):
    s = e.connect()
    s.sendall((json.dumps(req) + "\n").encode())
    return s


def lines_of(s):
    """Every line of one answer, the terminal one last; the socket is closed after."""
    try:
        return read_answer(s)
    finally:
        s.close()


def check_progress_line(m, rid):
    assert m["id"] == rid
    assert m["state"] in ("queued", "signing_in", "throttled", "retrying", "running")
    for k in ("records", "pages", "elapsed_ms"):
        assert isinstance(m[k], int) and m[k] >= 0, m


def test_throttled_then_records_and_done(exod_factory, fake, creds):
    e = start(exod_factory, fake, creds)
    wait_for(lambda: status(e)["state"] == "connected", "the profile signed in")
    fake.knobs(throttle={"count": 1, "retry_after": 1})
    s = send(e, {"id": "t", "op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 3},
                 "progress": True})
    lines = lines_of(s)
    types = [m["type"] for m in lines]
    assert types[-1] == "done" and lines[-1]["count"] == 3, lines
    assert types.count("record") == 3
    progress = [m for m in lines if m["type"] == "progress"]
    for m in progress:
        check_progress_line(m, "t")
    throttled = [m for m in progress if m["state"] == "throttled"]
    assert throttled, progress
    t = throttled[0]
    # The service's Retry-After, as this read's first retry of EXO_MAX_RETRIES.
    assert t["retry_in_ms"] == 1000
    assert (t["attempt"], t["attempts"]) == (1, 4)
    assert (t["records"], t["pages"]) == (0, 0)
    # A slow machine may wake a moment before the profile's hold ends and wait out the rest:
    # another line for the same retry, with what is left of the 1000 ms.
    for m in throttled[1:]:
        assert (m["attempt"], m["attempts"]) == (1, 4) and m["retry_in_ms"] < 1000, throttled
    # Running before the 429 and again for the retry, all before the first record.
    first_record = types.index("record")
    assert types.index("progress") < first_record
    states = [m["state"] for m in lines[:first_record] if m["type"] == "progress"]
    assert states == ["running"] + ["throttled"] * len(throttled) + ["running"], states
    # The retry went out once Retry-After had passed, and the clock only goes forward.
    after = progress[progress.index(throttled[-1]) + 1]
    assert after["elapsed_ms"] >= t["elapsed_ms"] + 999
    assert [m["elapsed_ms"] for m in progress] == sorted(m["elapsed_ms"] for m in progress)
    assert fake.counters()["throttled"] == 1


def test_queued_behind_max_connections(exod_factory, fake, creds):
    fake.knobs(latency_ms=1000)
    e = start(exod_factory, fake, creds, max_connections=1)
    first = send(e, {"id": 1, "op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})
    wait_for(lambda: status(e)["in_flight"] == 1, "the first request running")
    second = send(e, {"id": 2, "op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})
    wait_for(lambda: status(e)["queued"] == 1, "the second request queued")
    third = send(e, {"id": "q", "op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 2},
                     "progress": True})
    lines = lines_of(third)
    assert [m["type"] for m in lines_of(first)][-1] == "done"
    assert [m["type"] for m in lines_of(second)][-1] == "done"
    assert lines[-1]["type"] == "done" and lines[-1]["count"] == 2, lines
    progress = [m for m in lines if m["type"] == "progress"]
    for m in progress:
        check_progress_line(m, "q")
    queued = [m for m in progress if m["state"] == "queued"]
    # Behind two (one running, one waiting), then one: the queue moved up.
    assert [m["ahead"] for m in queued] == [1, 0], progress
    assert queued[0]["elapsed_ms"] <= queued[1]["elapsed_ms"]
    assert progress[len(queued)]["state"] == "running"
    assert [m["type"] for m in lines].index("record") > lines.index(progress[len(queued)])


def test_no_progress_unless_asked(exod_factory, fake, creds):
    e = start(exod_factory, fake, creds)
    for extra in ({}, {"progress": False}):
        fake.knobs(throttle={"count": 1, "retry_after": 1})
        req = {"id": "n", "op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 2}}
        req.update(extra)
        lines = e.request(req)
        # What a run always answered: its records, the "more results" warning, done.
        assert [m["type"] for m in lines] == ["record", "record", "warning", "done"], lines
    for bad in (1, "true", None, {}):
        err = e.request({"id": "b", "op": "run", "cmdlet": "Get-Mailbox", "progress": bad})[-1]
        assert err["type"] == "error" and err["error"]["code"] == "BadRequest", err
        assert "progress" in err["error"]["message"]
    assert fake.counters()["throttled"] == 2
