"""Results as the PowerShell module shows them: truncation, partial failures, What if, request ids, time limits."""

import re

from conftest import profile_text

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MORE = "There are more results available than are currently displayed"


def run(e, cmdlet, **params):
    return e.request({"op": "run", "cmdlet": cmdlet, "params": params})


def kinds(lines):
    return [l["type"] for l in lines]


def warnings(lines):
    return [l["message"] for l in lines if l["type"] == "warning"]


def test_no_result_size_stops_at_1000_with_the_service_warning(exod, fake):
    fake.knobs(mailboxes=2500)
    lines = run(exod, "Get-Mailbox")
    assert kinds(lines).count("record") == 1000 and lines[-1]["type"] == "done"
    assert [w for w in warnings(lines) if w.startswith(MORE)] and warnings(lines)[-1].startswith(MORE)


def test_result_size_larger_than_a_page_is_followed_and_warned(exod_factory, fake, creds):
    fake.knobs(mailboxes=2500)
    e = exod_factory(profile_text("contoso", fake, creds, page_size=1000)).start()
    lines = run(e, "Get-Mailbox", ResultSize=1500)
    assert kinds(lines).count("record") == 1500
    # Dropped between the pages exod fetched, shown once where the result stops short.
    assert [w for w in warnings(lines) if w.startswith(MORE)] == [warnings(lines)[-1]]
    assert fake.counters()["pages"] == 2


def test_unlimited_returns_everything_without_the_warning(exod, fake):
    fake.knobs(mailboxes=2500)
    lines = run(exod, "Get-Mailbox", ResultSize="Unlimited")
    assert kinds(lines).count("record") == 2500
    assert not [w for w in warnings(lines) if w.startswith(MORE)]


def test_exact_result_size_with_more_in_the_tenant_warns(exod, fake):
    fake.knobs(mailboxes=30)
    lines = run(exod, "Get-Mailbox", ResultSize=10)
    assert kinds(lines).count("record") == 10 and warnings(lines)[-1].startswith(MORE)
    lines = run(exod, "Get-Mailbox", ResultSize=30)
    assert kinds(lines).count("record") == 30 and not warnings(lines)


def test_partial_failures_fail_after_their_records(exod, fake):
    fake.knobs(cmdlet_errors={"count": 1})
    lines = run(exod, "Get-Mailbox", ResultSize=3)
    # In the order the page holds them (here the errors come first); the failure comes last.
    assert kinds(lines).count("record") == 3 and kinds(lines)[-1] == "error"
    first, second = [l["error"] for l in lines if l["type"] == "cmdlet_error"]
    assert "couldn't be found" in first["message"] and GUID.match(first["request_id"])
    assert second["code"] == "MemberAlreadyExists" and "already a member" in second["message"]
    assert second["detail"]["TypeName"].endswith("MemberAlreadyExistsException")
    end = lines[-1]["error"]
    assert end["code"] == "Upstream" and end["count"] == 3 and end["errors"] == 2
    assert GUID.match(end["request_id"]) and end["timestamp"].endswith("Z")


def test_exoctl_shows_partial_failures_and_exits_1(exod, fake):
    fake.knobs(cmdlet_errors={"count": 1, "errors": ["Couldn't find object \"ghost\"."]})
    r = exod.exoctl("-o", "ndjson", "run", "Get-Mailbox", "-ResultSize", "2")
    assert r.returncode == 1
    assert len(r.stdout.splitlines()) == 2
    assert 'ERROR: Couldn\'t find object "ghost".' in r.stderr
    assert "reported 1 error" in r.stderr


def test_what_if_reaches_the_client_and_changes_nothing(exod, fake):
    lines = run(exod, "Set-Mailbox", Identity="user000001", DisplayName="Changed", WhatIf=True)
    assert kinds(lines) == ["confirmation", "done"]
    assert lines[0]["message"] == 'Performing the operation "Set-Mailbox" on target "user000001".'
    rec = [l for l in run(exod, "Get-Mailbox", Identity="user000001") if l["type"] == "record"][0]
    assert rec["data"]["DisplayName"] != "Changed"
    r = exod.exoctl("run", "Set-Mailbox", "-Identity", "user000001", "-DisplayName", "x", "-WhatIf")
    assert r.returncode == 0
    assert 'What if: Performing the operation "Set-Mailbox" on target "user000001".' in r.stderr


def test_errors_name_the_request_as_the_module_does(exod):
    err = run(exod, "Set-Mailbox", Identity="nobody", DisplayName="x")[-1]["error"]
    assert err["code"] == "Upstream" and err["http_status"] == 404
    assert GUID.match(err["request_id"]) and err["server"] == "DM6PR14MB4156"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", err["timestamp"])
    r = exod.exoctl("run", "Set-Mailbox", "-Identity", "nobody", "-DisplayName", "x")
    assert r.returncode == 1
    assert re.search(r"\[Server=DM6PR14MB4156,RequestId=[0-9a-f-]{36},TimeStamp=[0-9T:-]+Z\]",
                     r.stderr)


def test_the_message_prefers_details_over_the_inner_exception(exod, fake):
    fake.knobs(fault={"status": 400, "count": 1, "shape": "details", "message": "From details",
                      "inner_message": "From the inner exception"})
    err = run(exod, "Get-Mailbox")[-1]["error"]
    assert err["message"] == "From details"


def test_the_time_limit_covers_every_page(exod_factory, fake, creds):
    """request_timeout 2 s, pages of 10 taking 0.8 s each: the run, not a page, runs out of time."""
    fake.knobs(mailboxes=100, latency_ms=800)
    e = exod_factory(profile_text("contoso", fake, creds, page_size=10, request_timeout=2)).start()
    lines = run(e, "Get-Mailbox", ResultSize="Unlimited")
    assert lines[-1]["type"] == "error" and lines[-1]["error"]["code"] == "Timeout"
    assert "all pages included" in lines[-1]["error"]["message"]
    assert 10 <= kinds(lines).count("record") < 100
