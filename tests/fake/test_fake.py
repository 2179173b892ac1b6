"""Tests of the simulated Microsoft cloud itself, through plain urllib (no exod involved)."""

import base64
import gzip
import http.client
import hashlib
import json
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from fakecloud import FakeCloud, make_credentials

SCOPE = "https://outlook.office365.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_KNOBS = {"token_lifetime": 3599, "page_size_cap": 1000, "device_interval": 5,
                 "throttle": None, "fault": None, "page_size": None}


@pytest.fixture(scope="module")
def env():
    with tempfile.TemporaryDirectory(prefix="fake-test-") as tmp:
        creds = make_credentials(tmp + "/creds")
        with FakeCloud(tmp + "/cloud", creds["config"]) as cloud:
            yield cloud, creds


@pytest.fixture
def cloud(env):
    fake, creds = env
    fake.knobs(**DEFAULT_KNOBS)
    fake.reset()
    return fake, creds


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def token_post(fake, tenant, form, headers=None):
    status, hdrs, body = fake.request("POST", "/%s/oauth2/v2.0/token" % tenant,
                                      urllib.parse.urlencode(form).encode(), headers)
    return status, json.loads(body)


def secret_token(fake, creds):
    status, body = token_post(fake, creds["tenant"], {
        "grant_type": "client_credentials", "client_id": creds["app_id"],
        "client_secret": creds["client_secret"], "scope": SCOPE})
    assert status == 200, body
    return body["access_token"]


def assertion(fake, creds, alg="PS256", jti=None):
    with open(creds["key_pem"], "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(creds["cert_pem"], "rb") as f:
        der = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)
    header = {"alg": alg, "typ": "JWT"}
    if alg == "PS256":
        header["x5t#S256"] = b64url(hashlib.sha256(der).digest())
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    else:
        header["x5t"] = b64url(hashlib.sha1(der).digest())
        pad = padding.PKCS1v15()
    now = int(time.time())
    claims = {"aud": "%s/%s/oauth2/v2.0/token" % (fake.url, creds["tenant"]),
              "iss": creds["app_id"], "sub": creds["app_id"], "jti": jti or str(uuid.uuid4()),
              "nbf": now - 60, "iat": now, "exp": now + 540}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = key.sign(signing_input.encode(), pad, hashes.SHA256())
    return signing_input + "." + b64url(sig)


def invoke(fake, token, cmdlet, params=None, anchor="UPN:admin@contoso.onmicrosoft.com",
           page=None, url=None, tenant="contoso.onmicrosoft.com"):
    headers = {"Authorization": "Bearer " + token, "X-AnchorMailbox": anchor,
               "Accept-Encoding": "gzip", "X-CmdletName": cmdlet}
    if page:
        headers["Prefer"] = "odata.maxpagesize=%d" % page
    body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": params or {}}}
    status, hdrs, data = fake.request("POST", "/adminapi/beta/%s/InvokeCommand" % tenant,
                                      body, headers, url=url)
    if hdrs.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return status, hdrs, data


def test_secret_grant_issues_exchange_app_token(cloud):
    fake, creds = cloud
    claims = jwt_claims(secret_token(fake, creds))
    assert claims["aud"] == "https://outlook.office365.com"
    assert claims["tid"] == creds["tenant_id"]
    assert claims["iss"] == "https://sts.windows.net/%s/" % creds["tenant_id"]
    assert claims["roles"] == ["Exchange.ManageAsApp"]
    assert claims["appid"] == creds["app_id"]
    status, body = token_post(fake, creds["tenant"], {
        "grant_type": "client_credentials", "client_id": creds["app_id"],
        "client_secret": "wrong", "scope": SCOPE})
    assert status == 401 and body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215] and body["error_description"].startswith("AADSTS7000215:")
    status, body = token_post(fake, "organizations", {
        "grant_type": "client_credentials", "client_id": creds["app_id"],
        "client_secret": creds["client_secret"], "scope": SCOPE})
    assert status == 400
    assert fake.counters()["token_requests"]["client_credentials"] == 3


def test_bad_scope_and_unknown_tenant(cloud):
    fake, creds = cloud
    form = {"grant_type": "client_credentials", "client_id": creds["app_id"],
            "client_secret": creds["client_secret"], "scope": "https://graph.microsoft.com/.default"}
    status, body = token_post(fake, creds["tenant"], form)
    assert (status, body["error"], body["error_codes"]) == (400, "invalid_scope", [70011])
    status, body = token_post(fake, "nowhere.onmicrosoft.com", dict(form, scope=SCOPE))
    assert (status, body["error_codes"]) == (400, [90002])


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_assertion_grant_and_replayed_jti(cloud, alg):
    fake, creds = cloud
    signed = assertion(fake, creds, alg)
    form = {"grant_type": "client_credentials", "client_id": creds["app_id"], "scope": SCOPE,
            "client_assertion_type": JWT_BEARER, "client_assertion": signed}
    status, body = token_post(fake, creds["tenant"], form)
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert "refresh_token" not in body
    status, body = token_post(fake, creds["tenant"], form)
    assert status == 401 and body["error"] == "invalid_client"
    assert fake.counters()["assertions_rejected"] == 1


def test_assertion_with_wrong_audience_is_rejected(cloud):
    fake, creds = cloud
    signed = assertion(fake, creds)
    status, body = token_post(fake, creds["tenant_id"], {
        "grant_type": "client_credentials", "client_id": creds["app_id"], "scope": SCOPE,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": signed[:-4] + ("AAAA" if not signed.endswith("AAAA") else "BBBB")})
    assert status == 401 and body["error_codes"] == [700027]


def test_paging_follows_next_link_and_rejects_other_anchor(cloud):
    fake, creds = cloud
    token = secret_token(fake, creds)
    params = {"ResultSize": "Unlimited"}
    status, _, data = invoke(fake, token, "Get-Mailbox", params, page=10)
    assert status == 200
    first = json.loads(data)
    assert len(first["value"]) == 10 and first["adminapi.warnings@odata.type"] == "#Collection(String)"
    assert any("more results available" in w for w in first["@adminapi.warnings"])
    link = first["@odata.nextLink"]
    assert link.startswith(fake.url + "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?$skiptoken=")
    status, _, data = invoke(fake, token, "Get-Mailbox", params, page=10, url=link,
                             anchor="UPN:someone-else@contoso.onmicrosoft.com")
    assert status == 400
    err = json.loads(data)["error"]
    assert err["message"] == "Invalid Operation"
    assert err["innererror"]["internalexception"]["message"].startswith(
        "Expired or Invalid pagination request. Default Expiry time is 00:30:00")
    names = [r["Name"] for r in first["value"]]
    while link:
        status, _, data = invoke(fake, token, "Get-Mailbox", params, page=10, url=link)
        assert status == 200
        page = json.loads(data)
        names += [r["Name"] for r in page["value"]]
        link = page.get("@odata.nextLink")
    assert page["@adminapi.warnings"] == []
    assert len(names) == 25 and len(set(names)) == 25
    assert fake.counters()["pages"] == 3


def test_expired_token_gets_401_with_challenge(cloud):
    fake, creds = cloud
    fake.knobs(token_lifetime=0)
    token = secret_token(fake, creds)
    status, hdrs, data = invoke(fake, token, "Get-OrganizationConfig")
    assert status == 401
    assert hdrs["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in hdrs["WWW-Authenticate"]
    assert json.loads(data)["error"]["code"] == "Unauthorized"
    status, _, _ = invoke(fake, "", "Get-OrganizationConfig")
    assert status == 401
    assert fake.counters()["unauthorized"] == 2


def test_set_mailbox_persists_and_unknown_identity_is_404(cloud):
    fake, creds = cloud
    token = secret_token(fake, creds)
    status, _, _ = invoke(fake, token, "Set-Mailbox", {
        "Identity": "user000007@contoso.onmicrosoft.com", "HiddenFromAddressListsEnabled": True})
    assert status == 200
    status, _, data = invoke(fake, token, "Get-Mailbox", {"Identity": "user000007"})
    assert json.loads(data)["value"][0]["HiddenFromAddressListsEnabled"] is True
    status, _, data = invoke(fake, token, "Set-Mailbox", {"Identity": "nobody", "DisplayName": "x"})
    assert status == 404
    assert "couldn't be found" in json.loads(data)["error"]["details"][0]["message"]


def test_device_code_flow(cloud):
    fake, creds = cloud
    fake.knobs(device_interval=0)
    status, _, data = fake.request("POST", "/organizations/oauth2/v2.0/devicecode", urllib.parse.urlencode({
        "client_id": creds["public_client_id"], "scope": SCOPE + " offline_access"}).encode())
    flow = json.loads(data)
    assert status == 200 and flow["verification_uri"] == "https://microsoft.com/devicelogin"
    assert flow["user_code"] in flow["message"]
    poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": creds["public_client_id"], "device_code": flow["device_code"]}
    status, body = token_post(fake, "organizations", poll)
    assert (status, body["error"]) == (400, "authorization_pending")
    assert [p["user_code"] for p in fake.device_pending()] == [flow["user_code"]]
    fake.device(flow["user_code"], "approve", creds["user"])
    status, body = token_post(fake, "organizations", poll)
    assert status == 200 and "refresh_token" in body
    assert jwt_claims(body["access_token"])["upn"] == creds["user"]


def test_imds_needs_metadata_header_and_answers_strings(cloud):
    fake, _ = cloud
    path = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://outlook.office365.com"
    status, _, _ = fake.request("GET", path)
    assert status == 400
    status, _, data = fake.request("GET", path, headers={"Metadata": "true"})
    body = json.loads(data)
    assert status == 200 and isinstance(body["expires_in"], str) and body["expires_in"].isdigit()
    assert fake.counters()["mi_requests"] == 2


def test_counters_record_redacted_headers_and_throttle(cloud):
    fake, creds = cloud
    token = secret_token(fake, creds)
    fake.knobs(throttle={"count": 1, "retry_after": 7})
    status, hdrs, _ = invoke(fake, token, "Get-AcceptedDomain")
    assert status == 429 and hdrs["Retry-After"] == "7"
    status, _, data = invoke(fake, token, "Get-AcceptedDomain")
    assert status == 200 and len(json.loads(data)["value"]) == 3
    c = fake.counters()
    # Names are recorded as the client sent them; urllib capitalizes them its own way.
    sent = {k.lower(): v for k, v in c["last_invoke_headers"].items()}
    assert sent["authorization"] == "Bearer <redacted>"
    assert sent["x-cmdletname"] == "Get-AcceptedDomain"
    assert c["invoke_by_cmdlet"] == {"Get-AcceptedDomain": 2}
    assert c["throttled"] == 1 and c["tokens_issued"] == 1


def raw(fake, url, method, path, headers=None, body=None):
    """One request that follows no redirect: (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=fake._ctx, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def test_compliance_front_door_and_regions(cloud):
    """The front door only redirects; a region serves only its tenants, with the right hint."""
    fake, creds = cloud
    status, body = token_post(fake, creds["tenant"], {
        "grant_type": "client_credentials", "client_id": creds["app_id"],
        "client_secret": creds["client_secret"],
        "scope": "https://ps.compliance.protection.outlook.com/.default"})
    assert status == 200, body
    scc = {"Authorization": "Bearer " + body["access_token"], "Content-Type": "application/json",
           "X-AnchorMailbox": "UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"
                              + creds["tenant"]}
    invoke = "/adminapi/beta/%s/InvokeCommand" % creds["tenant_id"]
    cmd = json.dumps({"CmdletInput": {"CmdletName": "Get-Label", "Parameters": {}}})
    # InvokeCommand at the front door: only the redirect to the tenant's region.
    status, hdrs, _ = raw(fake, fake.compliance_url, "POST", invoke, scc, cmd)
    assert status == 302
    assert hdrs["Location"].startswith(fake.region_urls["nam12b"] + "/AdminApi/v1.0/")
    status, _, _ = raw(fake, fake.compliance_url, "GET", "/AdminApi/v1.0/%s/EXOModuleFile"
                       % creds["tenant"], dict(scc, **{"X-AnchorMailbox": ""}))
    assert status == 400
    # The region: served, with an affinity cookie; not without the hint or for another tenant.
    status, hdrs, data = raw(fake, fake.region_urls["nam12b"], "POST", invoke, scc, cmd)
    assert status == 200 and len(json.loads(data)["value"]) == 8
    assert hdrs["Set-Cookie"].startswith("ExoComplianceAffinity=nam12b.")
    for hint in ("", "UPN:admin@" + creds["partner_tenant"]):
        status, _, _ = raw(fake, fake.region_urls["nam12b"], "POST", invoke,
                           dict(scc, **{"X-AnchorMailbox": hint}), cmd)
        assert status == 400
    # Another region redirects to the tenant's own, or says the hint routes nowhere.
    status, hdrs, _ = raw(fake, fake.region_urls["eur03b"], "POST", invoke, scc, cmd)
    assert status == 302 and hdrs["Location"].startswith(fake.region_urls["nam12b"])
    fake.knobs(region_moved_answer="error")
    status, _, data = raw(fake, fake.region_urls["eur03b"], "POST", invoke, scc, cmd)
    assert (status, json.loads(data)["error"]["code"]) == (400, "ErrorIncorrectRoutingHint")
    fake.knobs(region_moved_answer="redirect")
    # An Exchange token is not Security & Compliance's, and Exchange cmdlets are not run there.
    exo = dict(scc, Authorization="Bearer " + secret_token(fake, creds))
    assert raw(fake, fake.region_urls["nam12b"], "POST", invoke, exo, cmd)[0] == 401
    assert raw(fake, fake.url, "POST", invoke, scc, json.dumps(
        {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}))[0] == 401
    status, _, _ = raw(fake, fake.region_urls["nam12b"], "POST", invoke, scc, json.dumps(
        {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}))
    assert status == 400
    c = fake.counters()
    assert c["frontdoor_redirects"] == 1 and c["routing_hint_refused"] == 3
    assert c["region_moved"] == 2


def authorize(fake, tenant, **params):
    """GET /authorize as a browser, without following the redirect: (status, Location or body)."""
    class NoFollow(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=fake._ctx),
                                         urllib.request.ProxyHandler({}), NoFollow)
    url = "%s/%s/oauth2/v2.0/authorize?%s" % (fake.url, tenant, urllib.parse.urlencode(params))
    try:
        with opener.open(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers.get("Location") or err.read().decode()


def test_authorize_and_code_grant(cloud):
    fake, creds = cloud
    verifier = b64url(b"v" * 32)
    base = {"client_id": creds["public_client_id"], "response_type": "code",
            "scope": SCOPE + " offline_access", "state": "st", "redirect_uri": "http://localhost:8400",
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256"}
    fake.browser(None)
    try:
        status, body = authorize(fake, creds["tenant"], **base)
        assert status == 200 and fake.counters()["authorize_pending"] == 1
        status, body = authorize(fake, creds["tenant"], **dict(base, redirect_uri="https://x.example/"))
        assert status == 400 and "AADSTS50011" in body          # an error page, never a redirect
        status, body = authorize(fake, creds["tenant"], **dict(base, client_id=str(uuid.uuid4())))
        assert status == 400 and "AADSTS700016" in body
        status, location = authorize(fake, creds["tenant"], **dict(base, code_challenge_method="plain"))
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert status == 302 and q["error"] == ["invalid_request"] and q["state"] == ["st"]
        fake.browser("approve", creds["user"])
        status, location = authorize(fake, creds["tenant"], **base)
        assert status == 302 and location.startswith("http://localhost:8400/?code=")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
        form = {"grant_type": "authorization_code", "client_id": creds["public_client_id"],
                "code": code, "redirect_uri": base["redirect_uri"], "code_verifier": verifier,
                "scope": SCOPE + " offline_access"}
        status, body = token_post(fake, creds["tenant"], form)
        assert status == 200 and body["refresh_token"], body
        assert jwt_claims(body["access_token"])["upn"] == creds["user"]
        status, body = token_post(fake, creds["tenant"], form)
        assert status == 400 and body["error_codes"] == [54005]   # single use
        status, location = authorize(fake, creds["tenant"], **base)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
        status, body = token_post(fake, creds["tenant"], dict(form, code=code,
                                                               redirect_uri="http://localhost:8401"))
        assert status == 400 and body["error_codes"] == [500112]
        fake.browser("deny")
        status, location = authorize(fake, creds["tenant"], **base)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert q["error"] == ["access_denied"] and q["error_description"][0].startswith("AADSTS65004")
    finally:
        fake.browser(None)


def test_forced_page_size_and_a_page_cut_short(cloud):
    fake, creds = cloud
    token = secret_token(fake, creds)
    # page_size: every page that long, whatever the client's odata.maxpagesize.
    fake.knobs(page_size=20)
    status, hdrs, data = invoke(fake, token, "Get-Mailbox", {"ResultSize": "Unlimited"}, page=10)
    assert status == 200 and len(json.loads(data)["value"]) == 20
    # streamed_bytes: what the page handed to the connection (before gzip).
    assert fake.counters()["streamed_bytes"] == len(data)
    # drop_after_records: the connection fails after that many records of the page.
    fake.knobs(page_size=None, fault={"drop_after_records": 3, "count": 1})
    body = json.dumps({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}})
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
               "X-AnchorMailbox": "UPN:admin@contoso.onmicrosoft.com"}
    parts = urllib.parse.urlsplit(fake.url)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=fake._ctx, timeout=30)
    try:
        conn.request("POST", "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand", body=body,
                     headers=headers)
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(http.client.IncompleteRead) as cut:
            resp.read()
    finally:
        conn.close()
    partial = cut.value.partial.decode()
    assert partial.count('"Guid":') == 3 and "nextLink" not in partial
    c = fake.counters()
    assert c["faults"] == 1 and c["records"] == 20
    # The fault is spent: the next page is whole.
    status, _, data = invoke(fake, token, "Get-Mailbox")
    assert status == 200 and len(json.loads(data)["value"]) == 25
