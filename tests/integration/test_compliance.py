"""service = compliance: Security & Compliance cmdlets through the front door and the regional host.

The fake's front door answers only with a redirect to the tenant's region (a listener of its own);
each region refuses a missing or wrong routing hint and tenants it does not serve, and sets an
affinity cookie.  So a run that works proves the discovery, the pin, the hint and the token's
audience; the counters prove what was sent where.
"""

import json
import os
import subprocess

from conftest import EXOD, profile_text
from test_delegated import device_profile, login_device

CONTOSO = "contoso.onmicrosoft.com"
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
SCC_SCOPE = "https://ps.compliance.protection.outlook.com/.default"


def compliance_profile(name, fake, creds, **keys):
    return profile_text(name, fake, creds, service="compliance",
                        connection_uri=fake.compliance_url, **keys)


def run(e, cmdlet, params=None, profile=None):
    req = {"op": "run", "cmdlet": cmdlet, "params": params or {}}
    if profile:
        req["profile"] = profile
    return e.request(req)


def records(lines):
    assert lines[-1]["type"] == "done", lines[-1]
    return [m["data"] for m in lines if m["type"] == "record"]


def status(e, name):
    [p] = e.request({"op": "status", "profile": name})[-1]["profiles"]
    return p


def test_certificate_profile_through_the_region(exod_factory, fake, creds):
    e = exod_factory(compliance_profile("scc", fake, creds, page_size=10)).start()
    before = status(e, "scc")
    assert (before["service"], before["region_host"]) == ("compliance", None)
    assert before["connection_uri"] == fake.compliance_url
    searches = records(run(e, "Get-ComplianceSearch", {"ResultSize": "Unlimited"}))
    assert len(searches) == 30 and searches[0]["Name"] == "Search 001"
    labels = records(run(e, "Get-Label"))
    assert [x["DisplayName"] for x in labels[:2]] == ["Public", "General"]
    policies = records(run(e, "Get-DlpCompliancePolicy", {"Identity": "GDPR Enhanced"}))
    assert [(p["Name"], p["Mode"]) for p in policies] == [("GDPR Enhanced", "Enable")]
    c = fake.counters()
    # Found once and pinned: three pages and two more runs went straight to the region.
    assert (c["frontdoor_requests"], c["frontdoor_redirects"]) == (1, 1)
    assert c["compliance_requests"] == {"nam12b": 5}
    assert c["routing_hint_refused"] == 0 and c["region_moved"] == 0
    # The affinity cookie set by the first answer came back on every later request.
    assert c["affinity_cookie_returned"] == 4
    front = {k.lower(): v for k, v in c["last_frontdoor_headers"].items()}
    assert front["authorization"] == "Bearer <redacted>"
    assert front["x-anchormailbox"] == "UPN:%s@%s" % (SYSTEM_MAILBOX, CONTOSO)
    assert c["last_token_request"]["scope"] == SCC_SCOPE
    after = status(e, "scc")
    assert after["region_host"] == fake.region_urls["nam12b"]
    assert after["state"] == "connected"


def test_region_change_found_again(exod_factory, fake, creds):
    e = exod_factory(compliance_profile("scc", fake, creds)).start()
    assert len(records(run(e, "Get-Label"))) == 8
    # The tenant moves: the old region redirects, exod asks the front door again and follows.
    fake.knobs(compliance_region={CONTOSO: "eur03b"})
    assert len(records(run(e, "Get-DlpCompliancePolicy"))) == 5
    c = fake.counters()
    assert c["region_moved"] == 1 and c["frontdoor_requests"] == 2
    assert c["compliance_requests"] == {"nam12b": 2, "eur03b": 1}
    assert status(e, "scc")["region_host"] == fake.region_urls["eur03b"]
    # And back, told this time by the wrong-hint error instead of a redirect.
    fake.knobs(compliance_region={CONTOSO: "nam12b"}, region_moved_answer="error")
    assert len(records(run(e, "Get-ComplianceSearch", {"ResultSize": 3}))) == 3
    c = fake.counters()
    assert c["region_moved"] == 2 and c["frontdoor_requests"] == 3
    assert status(e, "scc")["region_host"] == fake.region_urls["nam12b"]
    assert "Security & Compliance serves the tenant from %s" % fake.region_urls["eur03b"] \
        in e.log_text()


def test_device_code_profile(exod_factory, fake, creds):
    fake.knobs(device_interval=0.2)
    text = device_profile(fake, service="compliance", connection_uri=fake.compliance_url)
    e = exod_factory(text).start()
    before = run(e, "Get-Label")
    assert before[-1]["error"]["code"] == "NeedsLogin"
    assert fake.counters()["frontdoor_requests"] == 0
    login_device(e, fake, creds["user"])
    assert len(records(run(e, "Get-Label"))) == 8
    c = fake.counters()
    # A signed-in user routes on their own mailbox, at the front door and in the region.
    front = {k.lower(): v for k, v in c["last_frontdoor_headers"].items()}
    assert front["x-anchormailbox"] == "UPN:" + creds["user"]
    invoke = {k.lower(): v for k, v in c["last_invoke_headers"].items()}
    assert invoke["x-anchormailbox"] == "UPN:" + creds["user"]
    # The region takes only Security & Compliance's audience: the device token was asked for it.
    assert c["compliance_requests"] == {"nam12b": 1} and c["unauthorized"] == 0
    fake.knobs(compliance_region={CONTOSO: "eur03b"})
    assert len(records(run(e, "Get-ComplianceSearch", {"ResultSize": 2}))) == 2
    assert status(e, "contoso")["region_host"] == fake.region_urls["eur03b"]


def test_exchange_cmdlet_refused_before_sending(exod_factory, fake, creds):
    text = compliance_profile("scc", fake, creds) + profile_text("exo", fake, creds)
    e = exod_factory(text).start()
    refused = run(e, "Get-Mailbox", {"ResultSize": 1}, profile="scc")
    err = refused[-1]["error"]
    assert err["code"] == "BadRequest"
    assert "Get-Mailbox is a cmdlet of Exchange Online, not of Security & Compliance" \
        in err["message"]
    # And the other way round: an Exchange profile does not send compliance cmdlets.
    other = run(e, "Get-ComplianceSearch", profile="exo")
    assert other[-1]["error"]["code"] == "BadRequest"
    c = fake.counters()
    assert c["frontdoor_requests"] == 0 and c["invoke_requests"] == 0
    r = e.exoctl("-p", "scc", "run", "Get-Mailbox")
    assert r.returncode == 2, r
    assert "not of Security & Compliance" in r.stderr
    # A parameter Security & Compliance does not have is refused too.
    anr = run(e, "Get-User", {"Anr": "ad"}, profile="scc")
    assert "applies to Exchange Online, Exchange Online Protection only" in \
        anr[-1]["error"]["message"]
    assert fake.counters()["invoke_requests"] == 0


def test_exoctl_shows_the_service(exod_factory, fake, creds):
    text = compliance_profile("scc", fake, creds) + profile_text("exo", fake, creds)
    e = exod_factory(text).start()
    assert e.exoctl("-p", "scc", "run", "Get-Label").returncode == 0
    # The compliance profile's affinity cookie stays its own (same host, another profile).
    assert e.exoctl("-p", "exo", "run", "Get-Mailbox", "-ResultSize", "1").returncode == 0
    sent = {k.lower() for k in fake.counters()["last_invoke_headers"]}
    assert "x-cmdletname" in sent and "cookie" not in sent
    r = e.exoctl("-o", "json", "status")
    assert r.returncode == 0, r.stderr
    shown = {p["name"]: (p["service"], p["region_host"]) for p in json.loads(r.stdout)}
    assert shown == {"scc": ("compliance", fake.region_urls["nam12b"]), "exo": ("exchange", None)}
    # The cmdlet lists, help and completion follow the profile's service.
    r = e.exoctl("-p", "scc", "cmdlets", "Get-*Compliance*")
    assert "Get-ComplianceSearch" in r.stdout.split() and "Get-Mailbox" not in r.stdout
    assert e.exoctl("-p", "exo", "cmdlets", "Get-ComplianceSearch").returncode == 1
    assert "Get-Mailbox" in e.exoctl("-p", "exo", "cmdlets", "Get-Mailbox").stdout
    help_text = e.exoctl("-p", "scc", "help", "Get-Mailbox").stdout
    assert "exod refuses this cmdlet there" in help_text
    user_help = e.exoctl("-p", "scc", "help", "Get-User").stdout
    assert "-Filter" in user_help and "-Anr" not in user_help
    assert "-Anr" in e.exoctl("-p", "exo", "help", "Get-User").stdout
    words = e.exoctl("__complete", "-p", "scc", "run", "Get-Compliance").stdout.split()
    assert "Get-ComplianceSearch" in words
    assert e.exoctl("__complete", "--profile=exo", "run", "Get-ComplianceS").stdout == ""


def test_front_door_outside_the_domain_refused(tmp_path, fake, creds):
    """The discovery carries the token: a front door off Security & Compliance's domain is refused."""
    state = tmp_path / "state"
    os.mkdir(state, 0o700)
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\nstate_dir = %s\n\n%s" % (
        tmp_path / "exod.sock", state,
        profile_text("scc", fake, creds, service="compliance",
                     connection_uri="https://outlook.office365.com")))
    r = subprocess.run([EXOD, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "connection_uri: a Security & Compliance front door must be https on " \
           "ps.compliance.protection.outlook.com" in r.stderr, r.stderr
