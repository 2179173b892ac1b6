"""The end-to-end path: exod signs in against the fake and streams cmdlet results."""

import json
import ssl
import urllib.parse
import urllib.request

from conftest import profile_text


def direct_invoke(fake, creds, cmdlet, params, page_size=1000):
    """Runs a cmdlet on the fake without exod, following nextLink, for comparison."""
    ctx = ssl.create_default_context(cafile=fake.ca_file)
    form = urllib.parse.urlencode({
        "client_id": creds["app_id"], "client_secret": creds["client_secret"],
        "grant_type": "client_credentials", "scope": "https://outlook.office365.com/.default"}).encode()
    with urllib.request.urlopen(fake.url + "/contoso.onmicrosoft.com/oauth2/v2.0/token", form, context=ctx) as r:
        token = json.load(r)["access_token"]
    body = json.dumps({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}}).encode()
    url = fake.url + "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand"
    records = []
    while url:
        req = urllib.request.Request(url, body, {
            "Authorization": "Bearer " + token, "Content-Type": "application/json",
            "Prefer": "odata.maxpagesize=%d" % page_size,
            "X-AnchorMailbox": "UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com"})
        with urllib.request.urlopen(req, context=ctx) as r:
            page = json.load(r)
        records += page.get("value") or []
        url = page.get("@odata.nextLink")
    return records


def test_ping_and_status(exod):
    assert exod.request({"id": 1, "op": "ping"})[-1] == {"id": 1, "type": "done", "pong": True, "version": "0.1.0"}
    status = exod.request({"op": "status"})[-1]
    assert status["type"] == "done"
    [p] = status["profiles"]
    assert p["name"] == "contoso" and p["auth"] == "certificate"
    assert p["organization"] == "contoso.onmicrosoft.com" and p["environment"] == "O365Default"


def test_run_streams_exact_records(exod, fake, creds):
    lines = exod.request({"id": "7", "op": "run", "profile": "contoso", "cmdlet": "Get-Mailbox",
                          "params": {"ResultSize": 5}})
    records = [l["data"] for l in lines if l["type"] == "record"]
    assert all(l["id"] == "7" for l in lines)
    assert lines[-1]["type"] == "done" and lines[-1]["count"] == 5
    assert records == direct_invoke(fake, creds, "Get-Mailbox", {"ResultSize": 5})


def test_paged_result_is_complete_and_in_order(exod_factory, fake, creds):
    fake.knobs(mailboxes=57)
    e = exod_factory(profile_text("contoso", fake, creds, page_size=10)).start()
    lines = e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": "Unlimited"}})
    records = [l["data"] for l in lines if l["type"] == "record"]
    assert lines[-1] == {**lines[-1], "type": "done", "count": 57}
    assert records == direct_invoke(fake, creds, "Get-Mailbox", {"ResultSize": "Unlimited"}, page_size=10)
    # The service's "more results available" warning is not passed on while paging.
    assert not [l for l in lines if l["type"] == "warning"]
    c = fake.counters()
    assert c["pages"] >= 6


def test_invoke_headers(exod, fake):
    exod.request({"op": "run", "cmdlet": "Get-AcceptedDomain"})
    h = {k.lower(): v for k, v in fake.counters()["last_invoke_headers"].items()}
    assert h["x-cmdletname"] == "Get-AcceptedDomain"
    assert h["x-responseformat"] == "json"
    assert h["prefer"] == "odata.maxpagesize=1000"
    assert h["x-anchormailbox"].endswith("@contoso.onmicrosoft.com")
    assert h["x-clientapplication"] == "ExoManagementModule"
    assert "client-request-id" in h and "connection-id" in h
    assert "gzip" in h.get("accept-encoding", "")


def test_metrics_json_and_prometheus(exod):
    for _ in range(3):
        exod.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 2}})
    m = exod.request({"op": "metrics"})[-1]["metrics"]
    p = m["profiles"]["contoso"]
    assert (p["requests"], p["records"], p["failures"]) == (3, 6, 0)
    assert p["latency_ms"]["count"] == 3
    r = exod.exoctl("metrics", "--prometheus")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert 'exod_requests_total{profile="contoso"} 3' in lines
    assert 'exod_records_total{profile="contoso"} 6' in lines
    assert 'exod_request_duration_seconds_count{profile="contoso"} 3' in lines
    assert 'exod_connected{profile="contoso"} 1' in lines
    assert "# TYPE exod_request_duration_seconds histogram" in lines
