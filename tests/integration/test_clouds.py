"""The five Exchange Online environments, and a partner acting on a customer tenant."""

import os
import time

import pytest

from conftest import profile_text

CONTOSO = "contoso.onmicrosoft.com"
FABRIKAM = "fabrikam.onmicrosoft.com"
FABRIKAM_MAILBOXES = 10         # the fake's default for fabrikam (tests/fake/README.md)

# /work/shared/reference/exo-protocol.md §1.1: environment -> (REST host, token scope, authority).
ENVIRONMENTS = {
    "O365Default": ("https://outlook.office365.com", "https://outlook.office365.com/.default",
                    "https://login.microsoftonline.com"),
    "O365USGovGCCHigh": ("https://outlook.office365.us", "https://outlook.office365.us/.default",
                         "https://login.microsoftonline.us"),
    "O365USGovDoD": ("https://outlook-dod.office365.us",
                     "https://outlook-dod.office365.us/.default",
                     "https://login.microsoftonline.us"),
    "O365GermanyCloud": ("https://outlook.office.de", "https://outlook.office.de/.default",
                         "https://login.microsoftonline.de"),
    "O365China": ("https://partner.outlook.cn", "https://partner.outlook.cn/.default",
                  "https://login.chinacloudapi.cn"),
}


def run(e, profile, **params):
    return e.request({"op": "run", "profile": profile, "cmdlet": "Get-Mailbox",
                      "params": params or {"ResultSize": 2}})


def statuses(e):
    return {p["name"]: p for p in e.request({"op": "status"})[-1]["profiles"]}


def wait_connected(e, name, deadline_s=20):
    """The profile's status once connected (its first sign-in runs in the background)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        p = statuses(e)[name]
        if p["state"] == "connected":
            return p
        time.sleep(0.05)
    raise AssertionError("profile %s not connected: %s" % (name, statuses(e)[name]))


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_environment(exod_factory, fake, creds, env):
    """Profile 'both' overrides both endpoints and runs a cmdlet; profile 'entra' overrides only
    the authority (so nothing leaves loopback), and its status shows the environment's own
    Exchange host."""
    host, scope, _ = ENVIRONMENTS[env]
    conf = (profile_text("both", fake, creds, environment=env) + "\n" +
            profile_text("entra", fake, creds, environment=env, connection_uri=None))
    e = exod_factory(conf).start()
    last = run(e, "both")[-1]
    assert last["type"] == "done" and last["count"] == 2, last
    wait_connected(e, "entra")
    seen = fake.counters()
    assert seen["last_token_request"]["scope"] == scope
    s = statuses(e)
    assert s["both"]["environment"] == env and s["entra"]["environment"] == env
    assert s["both"]["connection_uri"] == fake.url and s["both"]["authority_uri"] == fake.url
    assert s["entra"]["connection_uri"] == host and s["entra"]["authority_uri"] == fake.url
    assert s["both"]["state"] == "connected"
    # Both profiles asked the fake for a token, each for the environment's resource.
    assert seen["token_requests"].get("client_credentials", 0) == 2


def test_environment_default_authority_in_status(exod_factory, fake, creds):
    """Without overrides the status names the environment's own endpoints; a device profile
    makes no request at start, so the real cloud is never contacted."""
    conf = profile_text("gov", fake, creds, environment="O365USGovGCCHigh", auth="device",
                        app_id=None, certificate_file=None, certificate_password_file=None,
                        connection_uri=None, authority_uri=None)
    e = exod_factory(conf).start()
    p = statuses(e)["gov"]
    host, _, authority = ENVIRONMENTS["O365USGovGCCHigh"]
    assert (p["environment"], p["connection_uri"], p["authority_uri"]) == \
        ("O365USGovGCCHigh", host, authority)
    assert p["state"] == "needs_login"


@pytest.mark.parametrize("auth", ["certificate", "secret"])
def test_delegated_organization(exod_factory, fake, creds, auth):
    e = exod_factory(profile_text("partner", fake, creds, auth=auth,
                                  delegated_organization=FABRIKAM)).start()
    lines = run(e, "partner", ResultSize="Unlimited")
    assert lines[-1]["type"] == "done" and lines[-1]["count"] == FABRIKAM_MAILBOXES, lines[-1]
    smtp = [l["data"]["PrimarySmtpAddress"] for l in lines if l["type"] == "record"]
    assert len(smtp) == FABRIKAM_MAILBOXES
    assert all(a.endswith("@" + FABRIKAM) for a in smtp), smtp
    c = fake.counters()
    assert c["last_token_request"]["tenant"] == FABRIKAM
    h = {k.lower(): v for k, v in c["last_invoke_headers"].items()}
    assert h["x-anchormailbox"].endswith("@" + FABRIKAM)
    with open(os.path.join(fake.workdir, "fake_cloud.log")) as f:
        log = f.read()
    assert "/adminapi/beta/%s/InvokeCommand" % FABRIKAM in log
    assert "/adminapi/beta/%s/" % CONTOSO not in log
    p = statuses(e)["partner"]
    assert (p["organization"], p["delegated_organization"]) == (CONTOSO, FABRIKAM)
