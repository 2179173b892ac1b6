"""Entra ID side of the fake: token, authorize and device-code endpoints, managed identity, discovery."""

import base64
import datetime
import hashlib
import hmac
import html
import re
import time
import uuid
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

import fake_crypto
from fake_http import Resp, json_resp
from fake_state import (ALL_RESOURCES, ASSERTION_SKEW, EXCHANGE_ADMIN_WID, EXO_RESOURCE_APP)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SPECIAL_TENANTS = ("organizations", "common", "consumers")
OIDC_SCOPES = ("offline_access", "openid", "profile", "email")
ASSERTION_MAX_LIFETIME = 600          # certificate-credentials.md: exp "5-10 minutes after nbf at most"
VERIFICATION_URI = "https://microsoft.com/devicelogin"
SCOPE_RE = re.compile(r"^https://([^/]+)/{1,2}\.default$", re.IGNORECASE)
# reply-url.md: public clients may use http on loopback, any port; [::1] is not supported.
LOOPBACK_RE = re.compile(r"^http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?(/[^?#]*)?$")
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")                  # base64url of a SHA-256
VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")              # RFC 7636 section 4.1


class EntraError(Exception):
    """An OAuth error answer: HTTP status, error, AADSTS number, text, extra body fields."""

    def __init__(self, status, error, code, text, **extra):
        super().__init__(text)
        self.status, self.error, self.code, self.text, self.extra = status, error, code, text, extra


def _timestamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def error_resp(req, err):
    """Entra's error body, description formatted as the service does (with trace lines)."""
    trace, ts = str(uuid.uuid4()), _timestamp()
    corr = req.header("client-request-id") or str(uuid.uuid4())
    body = {"error": err.error,
            "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s"
                                 % (err.code, err.text, trace, corr, ts),
            "error_codes": [err.code], "timestamp": ts, "trace_id": trace,
            "correlation_id": corr,
            "error_uri": "https://%s/error?code=%d" % (req.host, err.code)}
    body.update(err.extra)
    return json_resp(err.status, body, _sts_headers(corr))


def _sts_headers(corr):
    return [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"),
            ("x-ms-request-id", str(uuid.uuid4())), ("client-request-id", corr)]


def _bad_request(code, text, error="invalid_request"):
    return EntraError(400, error, code, text)


def _missing(name):
    return _bad_request(900144, "The request body must contain the following parameter: '%s'." % name)


# -- scopes and tenants -------------------------------------------------------

def parse_scope(scope, app_only):
    """Return (resource host, set of OIDC scopes) for '<resource>/.default [offline_access ...]'."""
    if not scope:
        raise _missing("scope")
    resource, extras = None, set()
    for item in scope.split():
        m = SCOPE_RE.match(item)
        if item in OIDC_SCOPES and not app_only:
            extras.add(item)
        elif m and m.group(1).lower() in ALL_RESOURCES and resource is None:
            resource = m.group(1).lower()
        else:
            raise EntraError(400, "invalid_scope", 70011,
                             "The provided value for the input parameter 'scope' is not valid. "
                             "The scope '%s' is not valid." % scope)
    if resource is None:
        raise EntraError(400, "invalid_scope", 70011,
                         "The provided value for the input parameter 'scope' is not valid. "
                         "The scope '%s' does not name a resource with /.default." % scope)
    return resource, extras


def resolve_tenant(state, segment):
    """The tenant named by the path, or None for organizations/common/consumers."""
    if segment.lower() in SPECIAL_TENANTS:
        return None
    tenant = state.tenant(segment)
    if tenant is None:
        raise _bad_request(90002, "Tenant '%s' not found. Check to make sure you have the correct "
                           "tenant ID and are signing into the correct cloud. Check with your "
                           "subscription administrator, this may happen if there are no active "
                           "subscriptions for the tenant." % segment)
    return tenant


def _app_not_found(client_id, segment):
    return EntraError(400, "unauthorized_client", 700016,
                      "Application with identifier '%s' was not found in the directory '%s'. "
                      "This can happen if the application has not been installed by the "
                      "administrator of the tenant or consented to by any user in the tenant. "
                      "You may have sent your authentication request to the wrong tenant."
                      % (client_id, segment))


# -- client authentication ----------------------------------------------------

def _basic_auth(req):
    auth = req.header("Authorization")
    if not auth.lower().startswith("basic "):
        return None
    try:
        user, _, pw = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise EntraError(401, "invalid_client", 7000215, "Malformed Basic authorization.") from exc
    return unquote_plus(user), unquote_plus(pw)


def authenticate_client(state, req, form, app, segment, tenant):
    """Return appidacr ("0" public, "1" secret, "2" certificate) or raise EntraError."""
    secret = form.get("client_secret")
    basic = _basic_auth(req)
    if basic is not None:
        if basic[0].lower() != app.app_id:
            raise EntraError(401, "invalid_client", 7000215, "Basic client id does not match client_id.")
        secret = basic[1]
    assertion = form.get("client_assertion")
    if app.public:
        if secret is not None or assertion is not None:
            raise EntraError(401, "invalid_client", 700025,
                             "Client is public so neither 'client_assertion' nor 'client_secret' "
                             "should be presented.")
        return "0"
    if assertion is not None:
        try:
            check_assertion(state, req, form, app, segment, tenant)
        except EntraError:
            state.count("assertions_rejected")
            raise
        return "2"
    if secret is not None:
        if app.secret is None or not hmac.compare_digest(secret.encode(), app.secret.encode()):
            raise EntraError(401, "invalid_client", 7000215,
                             "Invalid client secret provided. Ensure the secret being sent in the "
                             "request is the client secret value, not the client secret ID, for a "
                             "secret added to app '%s'." % app.app_id)
        return "1"
    raise EntraError(401, "invalid_client", 7000218,
                     "The request body must contain the following parameter: 'client_assertion' "
                     "or 'client_secret'.")


def _assertion_error(code, text):
    return EntraError(401, "invalid_client", code, text)


def check_assertion(state, req, form, app, segment, tenant):
    """Verify a certificate client assertion the way certificate-credentials.md describes."""
    if form.get("client_assertion_type") != JWT_BEARER:
        raise _bad_request(50027, "JWT token is invalid or malformed: client_assertion_type must "
                           "be '%s'." % JWT_BEARER)
    try:
        header, claims, signing_input, sig = fake_crypto.parse_jws(form["client_assertion"])
    except fake_crypto.JoseError as exc:
        raise _assertion_error(50027, "JWT token is invalid or malformed (%s)." % exc) from exc
    alg = header.get("alg")
    if alg not in ("RS256", "PS256"):
        raise _assertion_error(5002738, "Invalid JWT token. '%s' is not a supported signature "
                               "algorithm. Supported signing algorithms are: 'RS256, PS256'" % alg)
    key, shown = _find_cert(app, header)
    if key is None:
        raise _assertion_error(700027, "The certificate with identifier used to sign the client "
                               "assertion is not registered on application. [Reason - The key was "
                               "not found., Thumbprint of key used by client: '%s']" % shown)
    try:
        fake_crypto.verify_rsa(key, alg, signing_input, sig)
    except fake_crypto.JoseError as exc:
        raise _assertion_error(700027, "Client assertion failed signature validation.") from exc
    if claims.get("iss") != claims.get("sub"):
        raise _assertion_error(50048, "Subject mismatches Issuer claim in the client assertion.")
    if str(claims.get("iss", "")).lower() != app.app_id:
        raise _assertion_error(700021, "Client assertion application identifier doesn't match "
                               "'client_id' parameter.")
    wanted = {("https://%s/%s/oauth2/v2.0/token" % (req.host, s)).lower()
              for s in (segment, tenant.id, tenant.name)}
    if not isinstance(claims.get("aud"), str) or claims["aud"].lower() not in wanted:
        raise _assertion_error(700027, "Client assertion contains an invalid audience '%s'; "
                               "expected https://%s/%s/oauth2/v2.0/token."
                               % (claims.get("aud"), req.host, segment))
    _check_assertion_times(state, claims)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise _assertion_error(50027, "JWT token is invalid or malformed: 'jti' is missing.")
    if not state.remember_jti(jti, claims["exp"]):
        raise _assertion_error(50013, "Assertion is invalid: the 'jti' '%s' was already used "
                               "(replayed client assertion)." % jti)


def _find_cert(app, header):
    if "x5t#S256" in header:
        want, idx = header["x5t#S256"], 1
    elif "x5t" in header:
        want, idx = header["x5t"], 0
    else:
        return None, "(no x5t or x5t#S256 in the header)"
    try:
        digest = fake_crypto.b64url_decode(want)
    except fake_crypto.JoseError:
        return None, str(want)[:80]
    for cert in app.certs:
        if hmac.compare_digest(cert[idx], digest):
            return cert[2], digest.hex().upper()
    return None, digest.hex().upper()


def _check_assertion_times(state, claims):
    now = state.now()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    for v in (exp, nbf, iat):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise _assertion_error(50027, "JWT token is invalid or malformed: bad time claim.")
    if exp is None or exp <= now:
        raise _assertion_error(700024, "Client assertion is not within its valid time range. "
                               "Current time: %d, assertion valid to: %s." % (now, exp))
    if nbf is not None and nbf > now + ASSERTION_SKEW:
        raise _assertion_error(700024, "Client assertion is not within its valid time range. "
                               "Current time: %d, assertion valid from: %s." % (now, nbf))
    start = nbf if nbf is not None else iat
    if start is not None and exp - start > ASSERTION_MAX_LIFETIME + ASSERTION_SKEW:
        raise _assertion_error(700024, "Client assertion is not within its valid time range: "
                               "its lifetime exceeds 10 minutes.")


# -- issuing --------------------------------------------------------------------

def _base_claims(state, tenant, resource, app_id, acr):
    now = int(state.now())
    life = state.knob("token_lifetime")
    return {"aud": "https://" + resource, "iss": "https://sts.windows.net/%s/" % tenant.id,
            "iat": now, "nbf": now, "exp": now + life, "appid": app_id, "appidacr": acr,
            "tid": tenant.id, "ver": "1.0"}, life


def _token_body(state, token, life):
    body = {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life,
            "access_token": token}
    refresh_in = state.knob("refresh_in")
    if refresh_in is not None:
        body["refresh_in"] = refresh_in
    return body


def issue_app(state, tenant, resource, app_id, acr, roles, wids, oid, extra=None):
    claims, life = _base_claims(state, tenant, resource, app_id, acr)
    claims.update({"idtyp": "app", "oid": oid, "sub": oid, "roles": list(roles)})
    if wids:
        claims["wids"] = list(wids)
    claims.update(extra or {})
    return state.issue_access_token(claims), life


def issue_user(state, req, app, user, tenant, resource, extras, acr):
    claims, life = _base_claims(state, tenant, resource, app.app_id, acr)
    claims.update({"idtyp": "user", "upn": user.upn, "unique_name": user.upn,
                   "name": user.upn.split("@")[0], "oid": user.oid, "sub": user.oid,
                   "scp": "Exchange.Manage", "amr": ["pwd", "mfa"] if user.mfa else ["pwd"]})
    if user.admin:
        claims["wids"] = [EXCHANGE_ADMIN_WID]
    token = state.issue_access_token(claims)
    body = _token_body(state, token, life)
    body["scope"] = "https://%s/Exchange.Manage" % resource
    if "offline_access" in extras:
        body["refresh_token"] = state.new_refresh_token(app.app_id, user, tenant.id, resource)
    if "openid" in extras:
        now = int(state.now())
        body["id_token"] = state.signer.sign({
            "aud": app.app_id, "iss": "https://%s/%s/v2.0" % (req.host, tenant.id),
            "iat": now, "nbf": now, "exp": now + 3600, "tid": tenant.id, "oid": user.oid,
            "sub": user.oid, "preferred_username": user.upn, "name": claims["name"], "ver": "2.0"})
    return body


# -- token endpoint --------------------------------------------------------------

def token_endpoint(state, req, segment):
    try:
        return _token_endpoint(state, req, segment)
    except EntraError as err:
        state.count("token_errors")
        return error_resp(req, err)


def _token_endpoint(state, req, segment):
    if req.method != "POST":
        raise _bad_request(900561, "The endpoint only accepts POST, OPTIONS requests. "
                           "Received a %s request." % req.method)
    fault = state.take_budget("token_fault")
    if fault is not None:
        return _token_fault(req, fault)
    try:
        form = req.form()
    except ValueError as exc:
        raise _bad_request(90015, "Requested query string is too long or malformed: %s." % exc) from exc
    grant = form.get("grant_type")
    state.count_in("token_requests", grant or "(none)")
    with state.lock:
        state.counters["last_token_request"] = {
            "grant_type": grant, "scope": form.get("scope"), "client_id": form.get("client_id"),
            "tenant": segment, "claims": "claims" in form,
            "client_auth": ("assertion" if "client_assertion" in form else
                            "secret" if "client_secret" in form else "none")}
    if not grant:
        raise _missing("grant_type")
    tenant = resolve_tenant(state, segment)
    client_id = form.get("client_id")
    if not client_id:
        raise _missing("client_id")
    app = state.apps.get(client_id.lower())
    if app is None or (tenant is not None and not app.consented(tenant)):
        raise _app_not_found(client_id, segment)
    handlers = {"client_credentials": _grant_client_credentials, "password": _grant_password,
                "refresh_token": _grant_refresh, DEVICE_GRANT: _grant_device,
                "authorization_code": _grant_auth_code}
    handler = handlers.get(grant)
    if handler is None:
        raise EntraError(400, "unsupported_grant_type", 70003,
                         "The app requested an unsupported grant type '%s'." % grant)
    body = handler(state, req, form, app, segment, tenant)
    return json_resp(200, body, _sts_headers(req.header("client-request-id") or str(uuid.uuid4())))


def _token_fault(req, fault):
    if fault.get("drop"):
        return Resp(0, drop=True)
    status = fault["status"]
    err = EntraError(status, "temporarily_unavailable", 90055 if status == 429 else 50033,
                     "The request was throttled; retry after a delay." if status == 429 else
                     "The service is temporarily unavailable; retry.")
    resp = error_resp(req, err)
    if "retry_after" in fault:
        resp.headers.append(("Retry-After", str(fault["retry_after"])))
    return resp


def _grant_client_credentials(state, req, form, app, segment, tenant):
    if tenant is None:
        raise _bad_request(9001023, "The grant type isn't supported over the /common, /organizations "
                           "or /consumers endpoints. Please use a tenant-specific endpoint.")
    resource, _ = parse_scope(form.get("scope"), app_only=True)
    acr = authenticate_client(state, req, form, app, segment, tenant)
    if app.public:
        raise EntraError(401, "invalid_client", 7000218, "The request body must contain the "
                         "following parameter: 'client_assertion' or 'client_secret'.")
    wids = [EXCHANGE_ADMIN_WID] if app.directory_role else []
    token, life = issue_app(state, tenant, resource, app.app_id, acr, app.roles, wids, app.sp_oid,
                            {"app_displayname": app.name})
    return _token_body(state, token, life)


def _check_user_usable(user):
    if user.locked:
        raise _bad_request(50053, "Your account is locked because the user tried to sign in too many "
                           "times with an incorrect user ID or password.", "invalid_grant")
    if user.disabled:
        raise _bad_request(50057, "The user account is disabled.", "invalid_grant")


def _grant_password(state, req, form, app, segment, tenant):
    if segment.lower() in ("common", "consumers"):
        raise _bad_request(9001023, "The grant type isn't supported over the /common or /consumers "
                           "endpoints. Please use the /organizations or tenant-specific endpoint.")
    resource, extras = parse_scope(form.get("scope"), app_only=False)
    for name in ("username", "password"):
        if not form.get(name):
            raise _missing(name)
    acr = authenticate_client(state, req, form, app, segment, tenant)
    user = state.find_user(form["username"])
    if user is None or (tenant is not None and user.tenant is not tenant):
        raise _bad_request(50034, "The user account {EUII Hidden} does not exist in the %s directory. "
                           "To sign into this application, the account must be added to the "
                           "directory." % (tenant.id if tenant else segment), "invalid_grant")
    _check_user_usable(user)
    if not hmac.compare_digest(form["password"].encode(), user.password.encode()):
        raise _bad_request(50126, "Error validating credentials due to invalid username or password.",
                           "invalid_grant")
    if user.mfa:
        err = _bad_request(50076, "Due to a configuration change made by your administrator, or "
                           "because you moved to a new location, you must use multi-factor "
                           "authentication to access '%s'." % EXO_RESOURCE_APP, "invalid_grant")
        err.extra["suberror"] = "basic_action"
        raise err
    return issue_user(state, req, app, user, tenant or user.tenant, resource, extras, acr)


def _grant_refresh(state, req, form, app, segment, tenant):
    rt = form.get("refresh_token")
    if not rt:
        raise _missing("refresh_token")
    acr = authenticate_client(state, req, form, app, segment, tenant)
    rec, problem = state.use_refresh_token(rt)
    if problem == "unknown":
        raise _bad_request(9002313, "Invalid request. Request is malformed or invalid.", "invalid_grant")
    if problem == "revoked":
        raise _bad_request(50173, "The provided grant has expired due to it being revoked, a fresh "
                           "auth token is needed. The user might have changed or reset their "
                           "password.", "invalid_grant")
    if problem == "expired":
        raise _bad_request(70008, "The provided authorization code or refresh token has expired due "
                           "to inactivity.", "invalid_grant")
    if rec["client_id"] != app.app_id:
        raise _bad_request(70000, "The refresh token was issued to a different client.",
                           "invalid_grant")
    if form.get("scope"):
        resource, extras = parse_scope(form["scope"], app_only=False)
    else:
        resource, extras = rec["resource"], set()
    extras.add("offline_access")              # refresh tokens rotate on every use
    user = state.find_user(rec["upn"])
    if user is None:
        raise _bad_request(50034, "The user account {EUII Hidden} does not exist.", "invalid_grant")
    _check_user_usable(user)
    target = tenant or state.tenant(rec["tenant_id"]) or user.tenant
    return issue_user(state, req, app, user, target, resource, extras, acr)


def _grant_device(state, req, form, app, segment, tenant):
    code = form.get("device_code") or form.get("code")
    if not code:
        raise _missing("device_code")
    acr = authenticate_client(state, req, form, app, segment, tenant)
    flow, outcome = state.poll_device_flow(code, time.monotonic())
    if outcome == "unknown" or flow["client_id"] != app.app_id:
        raise _bad_request(70000, "The provided value for the input parameter 'device_code' is not "
                           "valid.", "bad_verification_code")
    answers = {
        "expired": (70019, "expired_token", "Verification code expired."),
        "slow_down": (70016, "slow_down", "OAuth 2.0 device flow error. Polling too frequently; "
                      "increase the polling interval."),
        "pending": (70016, "authorization_pending", "OAuth 2.0 device flow error. Authorization is "
                    "pending. Continue polling."),
        "declined": (70000, "authorization_declined", "The user declined the authentication request."),
        "redeemed": (54005, "invalid_grant", "OAuth2 Authorization code was already redeemed, please "
                     "retry with a new valid code or use an existing refresh token."),
    }
    if outcome in answers:
        code_n, error, text = answers[outcome]
        raise _bad_request(code_n, text, error)
    resource, extras = parse_scope(flow["scope"], app_only=False)
    user = state.find_user(flow["upn"])
    return issue_user(state, req, app, user, tenant or user.tenant, resource, extras, acr)


def _grant_auth_code(state, req, form, app, segment, tenant):
    """authorization_code with PKCE (v2-oauth2-auth-code-flow.md): single use, same redirect_uri."""
    code = form.get("code")
    if not code:
        raise _missing("code")
    acr = authenticate_client(state, req, form, app, segment, tenant)
    grant, problem = state.use_auth_code(code)
    if problem == "unknown" or grant["client_id"] != app.app_id:
        raise _bad_request(70000, "The provided value for the 'code' parameter is not valid.",
                           "invalid_grant")
    if problem == "redeemed":
        raise _bad_request(54005, "OAuth2 Authorization code was already redeemed, please retry "
                           "with a new valid code or use an existing refresh token.", "invalid_grant")
    if problem == "expired":
        raise _bad_request(70008, "The provided authorization code or refresh token has expired "
                           "due to inactivity.", "invalid_grant")
    if form.get("redirect_uri") != grant["redirect_uri"]:
        raise _bad_request(500112, "The reply address '%s' does not match the reply address '%s' "
                           "provided when requesting Authorization code."
                           % (form.get("redirect_uri"), grant["redirect_uri"]), "invalid_grant")
    verifier = form.get("code_verifier") or ""
    if not VERIFIER_RE.match(verifier):
        raise _bad_request(501491, "Invalid size of Code_Verifier parameter.", "invalid_request")
    challenge = fake_crypto.b64url(hashlib.sha256(verifier.encode()).digest())
    if not hmac.compare_digest(challenge, grant["challenge"]):
        raise _bad_request(501481, "The Code_Verifier does not match the code_challenge supplied "
                           "in the authorization request.", "invalid_grant")
    resource, extras = parse_scope(form.get("scope") or grant["scope"], app_only=False)
    user = state.find_user(grant["upn"])
    _check_user_usable(user)
    return issue_user(state, req, app, user, tenant or user.tenant, resource, extras, acr)


# -- authorize endpoint (the browser's side) ------------------------------------------

def _page(status, title, text):
    body = ("<!DOCTYPE html><html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p>"
            "</body></html>" % (html.escape(title), html.escape(title), html.escape(text)))
    return Resp(status, body.encode(), [("Content-Type", "text/html; charset=utf-8"),
                                        ("Cache-Control", "no-store")])


def _redirect(uri, params):
    """302 to the loopback redirect_uri with params in its query, as a browser then asks for it."""
    split = urlsplit(uri)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    location = urlunsplit((split.scheme, split.netloc, split.path or "/", query, ""))
    return Resp(302, b"", [("Location", location), ("Cache-Control", "no-store")])


def _authorize_error_params(req, err):
    """An error as Entra sends it back to the app: description with its trace lines."""
    trace, corr, ts = str(uuid.uuid4()), str(uuid.uuid4()), _timestamp()
    return {"error": err.error,
            "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\n"
                                 "Timestamp: %s" % (err.code, err.text, trace, corr, ts),
            "error_uri": "https://%s/error?code=%d" % (req.host, err.code)}


def _authorize_check(state, q, app, tenant):
    """What Entra checks once the app and its redirect are known; returns the person who signs in."""
    if q.get("response_type") != "code":
        raise EntraError(400, "unsupported_response_type", 70005, "The provided value for the "
                         "input parameter 'response_type' is not allowed for this request. "
                         "Expected value: code.")
    parse_scope(q.get("scope"), app_only=False)
    if not CHALLENGE_RE.match(q.get("code_challenge") or ""):
        raise _bad_request(501491, "Invalid size of Code_Challenge parameter.")
    if q.get("code_challenge_method") != "S256":
        raise _bad_request(5000703, "The code_challenge_method '%s' is not supported: this "
                           "simulated tenant requires S256." % q.get("code_challenge_method"))
    decision = state.browser_decision()
    if decision is None:
        return None
    if decision["action"] == "deny":
        raise EntraError(400, "access_denied", 65004,
                         "User declined to consent to access the app.")
    user = state.find_user(decision["upn"])
    if tenant is not None and user.tenant is not tenant:
        raise _bad_request(50020, "User account '{EUII Hidden}' from identity provider does not "
                           "exist in tenant '%s'." % tenant.name)
    _check_user_usable(user)
    return user


def authorize_endpoint(state, req, segment):
    """GET /{tenant}/oauth2/v2.0/authorize: the page a browser opens; /_fake/authorize decides."""
    state.count("authorize_requests")
    q = req.query
    if req.method != "GET":
        return _page(405, "Method not allowed", "The authorize endpoint takes GET here.")
    try:
        tenant = resolve_tenant(state, segment)
    except EntraError as err:
        return _page(400, "Sign in", "AADSTS%d: %s" % (err.code, err.text))
    app = state.apps.get((q.get("client_id") or "").lower())
    if app is None or (tenant is not None and not app.consented(tenant)):
        err = _app_not_found(q.get("client_id"), segment)
        return _page(400, "Sign in", "AADSTS%d: %s" % (err.code, err.text))
    redirect = q.get("redirect_uri") or ""
    # Never a redirect to an address the app did not register: an error page instead.
    if not app.public or not LOOPBACK_RE.match(redirect):
        return _page(400, "Sign in", "AADSTS50011: The redirect URI '%s' specified in the request "
                     "does not match the redirect URIs configured for the application '%s'."
                     % (redirect, app.app_id))
    try:
        user = _authorize_check(state, q, app, tenant)
    except EntraError as err:
        return _redirect(redirect, dict(_authorize_error_params(req, err), state=q.get("state")))
    if user is None:
        state.count("authorize_pending")
        return _page(200, "Sign in to your account", "No one has signed in yet (POST "
                     "/_fake/authorize to approve or deny as a user).")
    code = state.new_auth_code({"client_id": app.app_id, "tenant": segment,
                                "scope": q["scope"], "redirect_uri": redirect,
                                "challenge": q["code_challenge"], "upn": user.upn})
    return _redirect(redirect, {"code": code, "state": q.get("state"),
                                "session_state": str(uuid.uuid4())})


# -- device authorization endpoint -------------------------------------------------

def devicecode_endpoint(state, req, segment):
    try:
        if req.method != "POST":
            raise _bad_request(900561, "The endpoint only accepts POST requests.")
        state.count("device_requests")
        try:
            form = req.form()
        except ValueError as exc:
            raise _bad_request(90015, "Malformed request body: %s." % exc) from exc
        tenant = resolve_tenant(state, segment)
        client_id = form.get("client_id")
        if not client_id:
            raise _missing("client_id")
        app = state.apps.get(client_id.lower())
        if app is None or (tenant is not None and not app.consented(tenant)):
            raise _app_not_found(client_id, segment)
        parse_scope(form.get("scope"), app_only=False)
        device_code, user_code, interval, expires_in = state.new_device_flow(
            app.app_id, segment, form["scope"])
    except EntraError as err:
        state.count("token_errors")
        return error_resp(req, err)
    return json_resp(200, {
        "user_code": user_code, "device_code": device_code, "verification_uri": VERIFICATION_URI,
        "expires_in": _json_num(expires_in), "interval": _json_num(interval),
        "message": "To sign in, use a web browser to open the page %s and enter the code %s to "
                   "authenticate." % (VERIFICATION_URI, user_code)})


def _json_num(v):
    """Whole numbers stay integers, as Entra sends them; fractions only exist for fast tests."""
    return int(v) if float(v).is_integer() else v


# -- managed identity ----------------------------------------------------------------

def _mi_resource(value):
    v = (value or "").rstrip("/")
    m = re.match(r"^https://([^/]+)$", v, re.IGNORECASE)
    if m and m.group(1).lower() in ALL_RESOURCES:
        return m.group(1).lower()
    return None


def _pick_mi(state, sel):
    """The identity a query selects; system-assigned when no selector is given."""
    given = [(k, v.lower()) for k, v in sel if v]
    if len(given) > 1:
        return None
    for mi in state.mis:
        if not given:
            if mi.system:
                return mi
            continue
        key, value = given[0]
        ids = {"client_id": mi.client_id, "object_id": mi.object_id,
               "principal_id": mi.object_id, "msi_res_id": mi.resource_id,
               "mi_res_id": mi.resource_id}
        if ids[key].lower() == value:
            return mi
    return None


def _mi_fault(state):
    fault = state.take_budget("mi_fault")
    if fault is None:
        return None
    status = fault["status"]
    headers = []
    if "retry_after" in fault:
        headers.append(("Retry-After", str(fault["retry_after"])))
    texts = {404: "IMDS is being updated.", 410: "IMDS is being updated; available within 70 s.",
             429: "Too many requests.", 500: "Internal error.", 503: "Service unavailable."}
    return json_resp(status, {"error": "temporarily_unavailable", "error_description": texts[status]},
                     headers)


def _mi_token(state, mi, resource):
    tenant = state.tenant(mi.tenant or "") or state.tenants[0]
    extra = {"xms_mirid": mi.resource_id} if mi.resource_id else {}
    token, life = issue_app(state, tenant, resource, mi.client_id, "2", ["Exchange.ManageAsApp"],
                            [EXCHANGE_ADMIN_WID], mi.object_id, extra)
    now = int(state.now())
    return token, life, now


def imds_endpoint(state, req):
    """GET /metadata/identity/oauth2/token (Azure VM IMDS); numbers are strings, as IMDS sends."""
    state.count("mi_requests")
    if req.method != "GET":
        return json_resp(405, {"error": "invalid_request", "error_description": "Method not allowed"})
    fault = _mi_fault(state)
    if fault is not None:
        return fault
    if req.header("Metadata") != "true":
        return json_resp(400, {"error": "invalid_request",
                               "error_description": "Required metadata header not specified"})
    if not req.query.get("api-version"):
        return json_resp(400, {"error": "invalid_request",
                               "error_description": "Required query variable 'api-version' is missing"})
    resource = _mi_resource(req.query.get("resource"))
    if resource is None:
        return json_resp(400, {"error": "invalid_resource",
                               "error_description": "AADSTS50001: The application named %s was not "
                               "found in the tenant." % req.query.get("resource")})
    mi = _pick_mi(state, [(k, req.query.get(k)) for k in ("client_id", "object_id", "msi_res_id")])
    if mi is None:
        return json_resp(400, {"error": "invalid_request", "error_description": "Identity not found"})
    token, life, now = _mi_token(state, mi, resource)
    return json_resp(200, {"access_token": token, "client_id": mi.client_id, "expires_in": str(life),
                           "expires_on": str(now + life), "ext_expires_in": str(life),
                           "not_before": str(now), "resource": req.query["resource"],
                           "token_type": "Bearer", "refresh_token": ""})


def appservice_endpoint(state, req):
    """GET /msi/token (App Service / Functions, api-version 2019-08-01); expires_on is a string."""
    state.count("mi_requests")
    if req.method != "GET":
        return json_resp(405, {"statusCode": 405, "message": "Method not allowed"})
    fault = _mi_fault(state)
    if fault is not None:
        return fault
    corr = str(uuid.uuid4())
    got = req.header("X-IDENTITY-HEADER").encode()
    if not got or not hmac.compare_digest(got, state.knob("identity_header").encode()):
        return json_resp(401, {"statusCode": 401, "message": "Unauthorized request: missing or "
                               "invalid X-IDENTITY-HEADER.", "correlationId": corr})
    if not req.query.get("api-version"):
        return json_resp(400, {"statusCode": 400, "message": "api-version is required.",
                               "correlationId": corr})
    resource = _mi_resource(req.query.get("resource"))
    if resource is None:
        return json_resp(500, {"statusCode": 500, "message": "An unexpected error occured while "
                               "fetching the AAD Token.", "correlationId": corr})
    mi = _pick_mi(state, [(k, req.query.get(k)) for k in
                          ("client_id", "principal_id", "object_id", "mi_res_id", "msi_res_id")])
    if mi is None:
        return json_resp(400, {"statusCode": 400, "message": "Unable to load the proper Managed "
                               "Identity.", "correlationId": corr})
    token, life, now = _mi_token(state, mi, resource)
    return json_resp(200, {"access_token": token, "expires_on": str(now + life),
                           "resource": req.query["resource"], "token_type": "Bearer",
                           "client_id": mi.client_id, "not_before": str(now)})


# -- discovery ------------------------------------------------------------------------

def discovery_endpoint(state, req, segment):
    try:
        tenant = resolve_tenant(state, segment)
    except EntraError as err:
        return error_resp(req, err)
    tid = tenant.id if tenant else "{tenantid}"
    base = "https://%s/%s" % (req.host, tenant.id if tenant else segment)
    return json_resp(200, {
        "token_endpoint": base + "/oauth2/v2.0/token",
        "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
        "authorization_endpoint": base + "/oauth2/v2.0/authorize",
        "jwks_uri": base + "/discovery/v2.0/keys",
        "issuer": "https://%s/%s/v2.0" % (req.host, tid),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "NA", "cloud_instance_name": "microsoftonline.com"})


def jwks_endpoint(state, req):
    return json_resp(200, state.signer.jwks())

