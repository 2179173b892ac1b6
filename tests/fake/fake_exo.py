"""Exchange Online side of the fake: InvokeCommand over a lazily generated tenant, paging, errors."""

import base64
import collections
import datetime
import json
import re
import time
import uuid

import fake_crypto
from fake_http import CUT, Resp, json_body, json_resp
from fake_state import ASSERTION_SKEW, EXO_RESOURCE_APP, EXO_RESOURCES, GUID_RE

ODATA_EXC = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
ODATA_CONTENT_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;"
                      "IEEE754Compatible=false;charset=utf-8")
MORE_RESULTS = ("There are more results available than are currently displayed. To view them, "
                "increase the value for the ResultSize parameter.")
PAGING_EXPIRED = "Expired or Invalid pagination request. Default Expiry time is 00:30:00"
DEFAULT_RESULT_SIZE = 1000          # the module's default when ResultSize is absent
MAX_PAGE_SIZE = 1000
NUL_BODY_LEN = 2048                 # the 403 body is "kilobytes of NUL bytes"
WWW_AUTH_BASE = ('Bearer client_id="%s", trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
                 'token_types="app_asserted_user_v1 service_asserted_app_v1", '
                 'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
                 % EXO_RESOURCE_APP)
TRANSIENT_TYPES = {
    "DCOverloadedException": "Microsoft.Exchange.Data.Directory.DCOverloadedException",
    "SuitabilityDirectoryException": "Microsoft.Exchange.Data.Directory.SuitabilityDirectoryException",
    "ServerInMMException": "Microsoft.Exchange.Data.Directory.ServerInMMException",
    "ADServerSettingsChangedException":
        "Microsoft.Exchange.Data.Directory.ADServerSettingsChangedException",
    "StorageTransientException": "Microsoft.Exchange.Data.Storage.StorageTransientException",
    "ADTransientException": "Microsoft.Exchange.Data.Directory.ADTransientException",
}
STATUS_WORDS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
                503: "ServiceUnavailable", 504: "GatewayTimeout"}
COMMON_PARAMS = {"erroraction", "warningaction", "verbose", "debug", "informationaction",
                 "confirm", "whatif", "force"}
FIRST_NAMES = ("Adele", "Alex", "Allan", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna",
               "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep")
LAST_NAMES = ("Vance", "Wilber", "Deyoung", "Siciliani", "Archie", "Mueller", "Langer", "Lorenz",
              "Sherman", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Fernandez")
MAILBOX_NS = uuid.UUID("5b1f0d6e-8a3c-4e2f-9b7d-1c6a4e8f2d30")
CREATED_BASE = datetime.datetime(2021, 3, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)
BE_SERVER = "DM6PR14MB4156.namprd14.prod.outlook.com"
SETTABLE = {"DisplayName": "str", "Alias": "str", "HiddenFromAddressListsEnabled": "bool",
            "DeliverToMailboxAndForward": "bool", "LitigationHoldEnabled": "bool",
            "ForwardingSmtpAddress": "str?", "ProhibitSendQuota": "str", "EmailAddresses": "list",
            "CustomAttribute1": "str?", "CustomAttribute2": "str?", "CustomAttribute3": "str?"}


class ExoError(Exception):
    """An error answer from the service; resp is the Resp to send."""

    def __init__(self, resp):
        super().__init__(resp.status)
        self.resp = resp


# -- error envelopes (exo-protocol.md §3.3) --------------------------------------------

def _inner(message, exc_type):
    return {"message": message, "type": ODATA_EXC, "stacktrace": "",
            "internalexception": {"message": message, "type": exc_type, "stacktrace": ""}}


def _with_warnings(err):
    err["adminapi.warnings@odata.type"] = "#Collection(String)"
    err["@adminapi.warnings"] = []
    return err


def err_innererror(status, message, exc_type):
    """Shape 1: no details, the text in innererror.internalexception."""
    err = _with_warnings({"code": STATUS_WORDS[status], "message": "Invalid Operation",
                          "innererror": _inner(message, exc_type)})
    return _error_resp(status, {"error": err})


def err_details(status, message, exc_type, target="", detail_code="Client", inner=None):
    """Shape 2: details[0].message = "|Type|text" plus the same (or another) text in innererror."""
    err = _with_warnings({"code": STATUS_WORDS[status], "message": "Invalid Operation",
                          "details": [{"code": detail_code, "target": target,
                                       "message": "|%s|%s" % (exc_type, message)}],
                          "innererror": _inner(inner or message, exc_type)})
    return _error_resp(status, {"error": err})


def err_message(status, message="Invalid Operation"):
    """Shape 3: code and message only."""
    return _error_resp(status, {"error": {"code": STATUS_WORDS[status], "message": message}})


def _error_resp(status, body, headers=None):
    hdrs = [("request-id", str(uuid.uuid4())), ("X-CalculatedBETarget", BE_SERVER)]
    return json_resp(status, body, hdrs + list(headers or []), content_type=ODATA_CONTENT_TYPE,
                     compressible=True)


def _bad_param(name):
    return ExoError(err_details(
        400, "Parameter set cannot be resolved using the specified named parameters. "
             "A parameter cannot be found that matches parameter name '%s'." % name,
        "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException"))


def _bad_value(name, value, type_name):
    return ExoError(err_innererror(
        400, "Cannot process argument transformation on parameter '%s'. Cannot convert value "
             "\"%s\" to type \"%s\"." % (name, value, type_name),
        "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException"))


def _not_found(identity):
    return ExoError(err_details(
        404, "The operation couldn't be performed because object '%s' couldn't be found on "
             "'NAMPR14A001DC01.NAMPR14A001.PROD.OUTLOOK.COM'." % identity,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        target=identity))


# -- authentication ----------------------------------------------------------------------

def _unauthorized(state, reason, error=None, extra=""):
    state.count("unauthorized")
    www = WWW_AUTH_BASE + ((', error="%s"' % error) if error else "") + extra
    body = {"error": {"code": "Unauthorized", "message": reason,
                      "innererror": {"message": reason, "type": ODATA_EXC, "stacktrace": ""}}}
    diag = '2000001;reason="%s";error_category="%s"' % (reason, error or "invalid_token")
    return ExoError(_error_resp(401, body, [("WWW-Authenticate", www), ("x-ms-diagnostics", diag)]))


def forbidden(state, reason):
    """403 as the service sends it for a token without the needed role: NUL bytes, reason in a header."""
    state.count("forbidden")
    return Resp(403, b"\0" * NUL_BODY_LEN, [
        ("Content-Type", "text/html"), ("request-id", str(uuid.uuid4())),
        ("x-ms-diagnostics", '2000008;reason="%s";error_category="insufficient_auth"' % reason)])


def authenticate(state, req, tenant, resources=EXO_RESOURCES):
    """Verify the bearer token for this tenant and one of resources (the service's audiences);
    return its claims or raise ExoError."""
    auth = req.header("Authorization")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        raise _unauthorized(state, "Access token is missing.")
    if state.knob("reject_all_tokens"):
        raise _unauthorized(state, "The access token is invalid: refused by the reject_all_tokens "
                            "knob.", "invalid_token")
    try:
        claims = state.signer.verify(auth[7:].strip())
    except fake_crypto.JoseError as exc:
        raise _unauthorized(state, "The access token is invalid: %s." % exc, "invalid_token") from exc
    now = state.now()
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
        raise _unauthorized(state, "The access token has expired.", "invalid_token")
    if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + ASSERTION_SKEW:
        raise _unauthorized(state, "The access token is not yet valid.", "invalid_token")
    aud = str(claims.get("aud", "")).rstrip("/").lower()
    if aud != EXO_RESOURCE_APP and aud not in ["https://" + r for r in resources]:
        raise _unauthorized(state, "The audience '%s' is invalid." % claims.get("aud"), "invalid_token")
    if tenant is None or claims.get("tid") != tenant.id or \
            claims.get("iss") != "https://sts.windows.net/%s/" % tenant.id:
        raise _unauthorized(state, "The token's tenant does not match the organization in the "
                            "request URL.", "invalid_token")
    if state.token_revoked(claims):
        challenge = json.dumps({"access_token": {"nbf": {"essential": True,
                                                         "value": str(int(now))}}})
        raise _unauthorized(state, "The access token has been revoked (continuous access "
                            "evaluation).", "insufficient_claims",
                            ', claims="%s"' % base64.b64encode(challenge.encode()).decode())
    if claims.get("idtyp") == "app":
        if "Exchange.ManageAsApp" not in claims.get("roles", []):
            raise _unauthorized(state, "The role assigned to application %s isn't supported in "
                                "this scenario." % claims.get("appid"), "invalid_token")
    elif "Exchange.Manage" not in str(claims.get("scp", "")).split():
        raise _unauthorized(state, "The token does not carry the Exchange.Manage scope.",
                            "invalid_token")
    if not claims.get("wids"):
        raise ExoError(forbidden(state, "The user or application has no Exchange role."))
    return claims


# -- the generated tenant --------------------------------------------------------------

def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _indexed_guid(tenant, kind, n):
    """A name-based (v5) GUID whose node field is the mailbox number: stable, unique, and
    invertible, so an -Identity GUID finds its mailbox without scanning a million of them."""
    base = uuid.uuid5(MAILBOX_NS, "%s/%s" % (tenant.id, kind)).hex
    return str(uuid.UUID(base[:20] + "%012x" % n))


def mailbox(tenant, i, override=None):
    """Mailbox number i (0-based) of tenant: a pure function of the index, plus Set-Mailbox edits."""
    n = i + 1
    name = "user%06d" % n
    smtp = "%s@%s" % (name, tenant.name)
    first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
    created = CREATED_BASE + datetime.timedelta(minutes=n)
    rec = {
        "Name": name, "Alias": name, "DisplayName": "%s %s" % (first, last),
        "Identity": name, "Id": name,
        "DistinguishedName": "CN=%s,OU=%s,OU=Microsoft Exchange Hosted Organizations,"
                             "DC=NAMPR14A001,DC=PROD,DC=OUTLOOK,DC=COM" % (name, tenant.name),
        "PrimarySmtpAddress": smtp, "UserPrincipalName": smtp, "WindowsEmailAddress": smtp,
        "Guid": _indexed_guid(tenant, "mailbox", n),
        "ExchangeGuid": _indexed_guid(tenant, "exchange", n),
        "ExternalDirectoryObjectId": _indexed_guid(tenant, "user", n),
        "RecipientType": "UserMailbox", "RecipientTypeDetails": "UserMailbox",
        "HiddenFromAddressListsEnabled": False, "IsMailboxEnabled": True,
        "EmailAddresses": ["SMTP:" + smtp, "smtp:%s@%s.mail.onmicrosoft.com" % (name, tenant.label)],
        "ForwardingSmtpAddress": None, "DeliverToMailboxAndForward": False,
        "LitigationHoldEnabled": False, "ArchiveStatus": "None",
        "ProhibitSendQuota": "99 GB (106,300,440,576 bytes)",
        "CustomAttribute1": "", "CustomAttribute2": "", "CustomAttribute3": "",
        "Database": "NAMPR14DG%03d-db%03d" % (i % 97, i % 211),
        "OrganizationalUnit": "namprd14.prod.outlook.com/Microsoft Exchange Hosted Organizations/"
                              + tenant.name,
        "WhenCreated": _iso(created), "WhenChanged": _iso(created),
        "WhenCreatedUTC": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if override:
        rec.update(override)
    return rec


def _matches(rec, want):
    keys = ("Name", "Alias", "Identity", "DistinguishedName", "PrimarySmtpAddress",
            "UserPrincipalName", "Guid", "ExchangeGuid", "ExternalDirectoryObjectId")
    if any(str(rec.get(k, "")).lower() == want for k in keys):
        return True
    return any(a.split(":", 1)[-1].lower() == want for a in rec.get("EmailAddresses") or [])


def find_mailbox(state, tenant, identity):
    """Index of the mailbox an -Identity names, or None; never a scan over the tenant."""
    want = str(identity).strip().lower()
    count = state.mailbox_count(tenant)
    overrides = state.mailbox_overrides(tenant)
    candidates = [int(m.group(1)) - 1 for m in re.finditer(r"user(\d{6})", want)]
    if GUID_RE.match(want):
        candidates.append(int(want[-12:], 16) - 1)
    candidates += sorted(overrides)
    for i in candidates:
        if 0 <= i < count and _matches(mailbox(tenant, i, overrides.get(i)), want):
            return i
    return None


class Source:
    """Random access to a cmdlet's output, so a page costs memory only for itself."""

    def __init__(self, count, get, truncated=False, warnings=None, confirmation=None):
        self.count, self.get, self.truncated = count, get, truncated
        self.warnings = list(warnings or [])
        self.confirmation = confirmation    # -WhatIf: what would have been done


def _check_params(params, allowed):
    for key in params:
        if key not in allowed and key.lower() not in COMMON_PARAMS:
            raise _bad_param(key)


def _result_size(params):
    if "ResultSize" not in params:
        return DEFAULT_RESULT_SIZE
    v = params["ResultSize"]
    if isinstance(v, str) and v.strip().lower() == "unlimited":
        return None
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _bad_value("ResultSize", v, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]")
    return v


def get_mailbox(state, tenant, params):
    _check_params(params, {"Identity", "ResultSize", "RecipientTypeDetails"})
    size = _result_size(params)
    overrides = state.mailbox_overrides(tenant)
    if params.get("Identity") is not None:
        i = find_mailbox(state, tenant, params["Identity"])
        if i is None:
            raise _not_found(params["Identity"])
        return Source(1, lambda _k: mailbox(tenant, i, overrides.get(i)))
    total = state.mailbox_count(tenant)
    kinds = params.get("RecipientTypeDetails")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not isinstance(kinds, list) or "UserMailbox" not in kinds:
            total = 0
    count = total if size is None else min(total, size)
    return Source(count, lambda k: mailbox(tenant, k, overrides.get(k)), truncated=count < total)


def _coerce(name, kind, value):
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise _bad_value(name, value, "System.Boolean")
        return value
    if kind in ("str", "str?"):
        if value is None and kind == "str?":
            return None
        if not isinstance(value, str):
            raise _bad_value(name, value, "System.String")
        return value
    return value


def _email_addresses(current, value):
    """Full replace from an array, or @{Add=...; Remove=...} from a hashtable."""
    if isinstance(value, list) and all(isinstance(a, str) for a in value):
        return list(value)
    if isinstance(value, dict):
        out = list(current)
        for a in value.get("Remove") or []:
            out = [x for x in out if x.lower() != str(a).lower()]
        for a in value.get("Add") or []:
            if str(a).lower() not in (x.lower() for x in out):
                out.append(str(a))
        return out
    raise _bad_value("EmailAddresses", value, "Microsoft.Exchange.Data.ProxyAddressCollection")


def set_mailbox(state, tenant, params):
    _check_params(params, set(SETTABLE) | {"Identity"})
    if params.get("Identity") in (None, ""):
        raise ExoError(err_details(400, "Cannot process command because of one or more missing "
                                        "mandatory parameters: Identity.",
                                   "System.Management.Automation.ParameterBindingException"))
    i = find_mailbox(state, tenant, params["Identity"])
    if i is None:
        raise _not_found(params["Identity"])
    current = mailbox(tenant, i, state.mailbox_overrides(tenant).get(i))
    if params.get("WhatIf") is True:
        # -WhatIf: nothing changes; the service says what it would have done.
        return Source(0, None, confirmation='Performing the operation "Set-Mailbox" on target "%s".'
                      % current["Identity"])
    changes = {}
    for key, kind in SETTABLE.items():
        if key not in params:
            continue
        if kind == "list":
            value = _email_addresses(current["EmailAddresses"], params[key])
        else:
            value = _coerce(key, kind, params[key])
        if current.get(key) != value:
            changes[key] = value
    if not changes:
        return Source(0, None, warnings=[
            "The command completed successfully but no settings of '%s' have been modified."
            % current["Identity"]])
    changes["WhenChanged"] = _iso(datetime.datetime.fromtimestamp(state.now(), datetime.timezone.utc))
    state.set_mailbox(tenant, i, changes)
    return Source(0, None)


def get_accepted_domain(state, tenant, params):
    _check_params(params, {"Identity", "ResultSize"})
    names = [tenant.name, "%s.mail.onmicrosoft.com" % tenant.label, "%s.com" % tenant.label]
    recs = [{"Name": d, "DomainName": d, "Identity": d, "DomainType": "Authoritative",
             "Default": d == tenant.name, "InitialDomain": d == tenant.name,
             "IsCoexistenceDomain": d.endswith(".mail.onmicrosoft.com"), "IsValid": True,
             "Guid": str(uuid.uuid5(MAILBOX_NS, "%s/domain/%s" % (tenant.id, d)))}
            for d in names]
    if params.get("Identity") is not None:
        recs = [r for r in recs if r["Name"].lower() == str(params["Identity"]).lower()]
        if not recs:
            raise _not_found(params["Identity"])
    return Source(len(recs), recs.__getitem__)


def get_organization_config(state, tenant, params):
    _check_params(params, {"Identity"})
    rec = {"Name": tenant.name, "DisplayName": tenant.label.capitalize(), "Identity": tenant.name,
           "Guid": str(uuid.uuid5(MAILBOX_NS, tenant.id + "/org")), "OrganizationId":
           "namprd14.prod.outlook.com/Microsoft Exchange Hosted Organizations/%s - "
           "namprd14.prod.outlook.com/ConfigurationUnits/%s/Configuration" % (tenant.name, tenant.name),
           "ExternalDirectoryOrganizationId": tenant.id, "IsDehydrated": False,
           "OAuth2ClientProfileEnabled": True, "AuditDisabled": False,
           "MailTipsAllTipsEnabled": True, "DefaultPublicFolderMailbox": "",
           "WhenCreated": _iso(CREATED_BASE)}
    return Source(1, lambda _k: rec)


CMDLETS = {"get-mailbox": get_mailbox, "set-mailbox": set_mailbox,
           "get-accepteddomain": get_accepted_domain,
           "get-organizationconfig": get_organization_config}

# What one InvokeCommand endpoint serves: the token audiences it takes, its cmdlets, a gate that
# may refuse the request (raising ExoError) once the token is good, and headers for its answers.
Service = collections.namedtuple("Service", "resources cmdlets gate headers")
EXCHANGE = Service(EXO_RESOURCES, CMDLETS, None, None)


# -- InvokeCommand ---------------------------------------------------------------------------

def _parse_body(req):
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExoError(err_message(400, "The request body is not valid JSON: %s" % exc)) from exc
    ci = data.get("CmdletInput") if isinstance(data, dict) else None
    if not isinstance(ci, dict) or not isinstance(ci.get("CmdletName"), str) or not ci["CmdletName"]:
        raise ExoError(err_message(400, "The parameter 'CmdletInput' in the request payload is not "
                                        "a valid CmdletInvokeInputType."))
    params = ci.get("Parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ExoError(err_message(400, "CmdletInput.Parameters must be a JSON object."))
    return ci, params


def _page_size(req, state):
    forced = state.knob("page_size")
    if forced is not None:
        return forced           # a service that ignores odata.maxpagesize (and its own cap)
    cap = min(MAX_PAGE_SIZE, state.knob("page_size_cap"))
    m = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", req.header("Prefer"))
    return min(cap, int(m.group(1))) if m and int(m.group(1)) > 0 else cap


def _record_headers(state, req):
    hdrs = {}
    for k, v in req.headers.items():
        hdrs[k] = "Bearer <redacted>" if k.lower() == "authorization" else v
    with state.lock:
        state.counters["last_invoke_headers"] = hdrs
        state.counters["invoke_requests"] += 1


def invoke_endpoint(state, req, version, segment, service=EXCHANGE):
    """POST /adminapi/{version}/{tenant}/InvokeCommand[?$skiptoken=...]."""
    _record_headers(state, req)
    try:
        if req.method != "POST":
            raise ExoError(_error_resp(405, {"error": {
                "code": "MethodNotAllowed", "message": "The requested resource does not support "
                                                       "http method '%s'." % req.method}}))
        tenant = state.tenant(segment)
        authenticate(state, req, tenant, service.resources)
        if service.gate is not None:
            service.gate(state, req, tenant)
        ci, params = _parse_body(req)
        with state.lock:
            state.counters["last_invoke_body"] = req.json()
        name = ci["CmdletName"]
        state.count_in("invoke_by_cmdlet", name)
        cut = _inject_failures(state, name)
        start = 0
        if req.query.get("$skiptoken", "").startswith("cycle"):
            start = 0       # the hostile "cycle" link: the first page again, forever
        elif "$skiptoken" in req.query:
            start = _resume(state, req, segment, ci)
        latency = state.knob("latency_ms")
        if latency:
            time.sleep(latency / 1000.0)
        handler = service.cmdlets.get(name.lower())
        if handler is None:
            raise ExoError(err_details(
                400, "The term '%s' is not recognized as a name of a cmdlet, function, script "
                     "file, or executable program." % name,
                "System.Management.Automation.CommandNotFoundException", target=name))
        source = handler(state, tenant, params)
        extra = service.headers(state, req, tenant) if service.headers is not None else []
        return _page(state, req, version, segment, tenant, ci, source, start, extra, cut)
    except ExoError as err:
        return err.resp


def _inject_failures(state, name):
    """Raises the injected answer; or returns after how many records to cut the page (None: don't)."""
    throttle = state.take_budget("throttle")
    if throttle is not None:
        state.count("throttled")
        retry = throttle.get("retry_after", 1)
        raise ExoError(_error_resp(429, {"error": {
            "code": "TooManyRequests", "message": "Too many requests. Please retry after %s "
                                                  "seconds." % retry}},
            [("Retry-After", str(retry))]))
    fault = state.take_budget(
        "fault", lambda f: not f.get("cmdlet") or f["cmdlet"].lower() == name.lower())
    if fault is None:
        return
    state.count("faults")
    if fault.get("drop"):
        raise ExoError(Resp(0, drop=True))
    if "drop_after_records" in fault:
        return fault["drop_after_records"]
    status = fault["status"]
    if status == 403:
        raise ExoError(forbidden(state, "Injected by the fault knob."))
    exc = fault.get("exception") or ("ADTransientException" if status == 500 else None)
    shape = fault.get("shape") or ("details" if exc else "message")
    exc_type = TRANSIENT_TYPES.get(exc, exc) or "System.Exception"
    text = fault.get("message") or "Active Directory operation failed on NAMPR14A001DC01 (%s)." % exc
    if shape == "details":
        raise ExoError(err_details(status, text, exc_type, detail_code="Context",
                                   inner=fault.get("inner_message")))
    if shape == "innererror":
        raise ExoError(err_innererror(status, text, exc_type))
    raise ExoError(err_message(status, fault.get("message") or "Invalid Operation"))


def _body_key(ci):
    return json.dumps(ci, sort_keys=True, separators=(",", ":"))


def _resume(state, req, segment, ci):
    """Offset of a follow-up page; the link only works with the same body and anchor in time."""
    cur = state.get_skiptoken(req.query["$skiptoken"])
    if (cur is None or cur["segment"] != segment.lower() or cur["body"] != _body_key(ci) or
            cur["anchor"] != req.header("X-AnchorMailbox").lower()):
        state.count("pagination_errors")
        raise ExoError(err_innererror(400, PAGING_EXPIRED,
                                      "Microsoft.Exchange.AdminApi.CommandInvocation."
                                      "InvalidPaginationRequestException"))
    return cur["offset"]


def _select(req):
    sel = req.query.get("$select")
    return [s.strip() for s in sel.split(",") if s.strip()] if sel else None


def _page(state, req, version, segment, tenant, ci, source, start, extra=(), cut=None):
    size = _page_size(req, state)
    end = min(source.count, start + size)
    warnings = list(source.warnings)
    next_link = None
    if end < source.count:
        token = state.new_skiptoken({"segment": segment.lower(), "body": _body_key(ci),
                                     "anchor": req.header("X-AnchorMailbox").lower(),
                                     "offset": end})
        next_link = "https://%s/adminapi/%s/%s/InvokeCommand?$skiptoken=%s" % (
            req.host, version, segment, token)
        warnings.append(MORE_RESULTS)
    elif source.truncated:
        warnings.append(MORE_RESULTS)
    next_link = _hostile_next(state, req, version, segment) or next_link
    head = {"@odata.context": "https://%s/adminapi/%s/%s/$metadata#Collection(Exchange.GenericHashTable)"
                              % (req.host, version, tenant.id),
            "adminapi.warnings@odata.type": "#Collection(String)",
            "@adminapi.warnings": warnings}
    if source.confirmation is not None:
        head["@adminapi.confirmationmessage"] = source.confirmation
    errors = state.take_budget("cmdlet_errors")
    if errors is not None:
        head["@adminapi.errors"] = errors.get("errors") or [
            "The operation couldn't be performed because object 'ghost' couldn't be found.",
            {"Message": "The user user000002 is already a member of the group.",
             "ErrorCode": "MemberAlreadyExists",
             "TypeName": "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException"}]
    state.count("pages")
    body = _stream(state, head, source, start, end, next_link, _select(req), cut)
    return Resp(200, body, [("Content-Type", ODATA_CONTENT_TYPE), ("OData-Version", "4.0"),
                            ("request-id", str(uuid.uuid4())), ("X-CalculatedBETarget", BE_SERVER),
                            ("Cache-Control", "private")] + list(extra), compressible=True)


def _hostile_next(state, req, version, segment):
    """The nextLink a hostile or broken service would send instead, per the next_link knob."""
    how = state.knob("next_link")
    if how is None:
        return None
    host, _, port = req.host.rpartition(":")
    path = "/adminapi/%s/%s/InvokeCommand?$skiptoken=" % (version, segment)
    if how == "self":
        return "https://%s%s" % (req.host, req.target)
    if how == "cycle":
        n = req.query.get("$skiptoken", "cycle0")[5:] or "0"
        return "https://%s%scycle%d" % (req.host, path, (int(n) + 1) % 2 if n.isdigit() else 0)
    targets = {"other_host": "https://127.0.0.2:%s" % port,
               "other_port": "https://%s:%d" % (host, int(port) + 1),
               "http": "http://%s" % req.host,
               "userinfo": "https://exod:secret@%s" % req.host}
    return targets[how] + path + "stolen"


def _stream(state, head, source, start, end, next_link, select, cut=None):
    """Yield the envelope piece by piece: records leave as they are generated.

    cut: after that many records the connection fails (fake_http.CUT), the page unfinished.
    Every piece handed to the writer counts in streamed_bytes: while a client does not
    read, the count stops where the connection's buffers are full."""
    for piece in _envelope(state, head, source, start, end, next_link, select, cut):
        if piece is not CUT:
            state.count("streamed_bytes", len(piece))
        yield piece


def _envelope(state, head, source, start, end, next_link, select, cut):
    yield json_body(head)[:-1] + b',"value":['
    batch = state.knob("chunk_records")
    parts = []
    bad_utf8 = state.knob("bad_utf8")
    if cut is not None:
        end = min(end, start + cut)
    for k in range(start, end):
        rec = source.get(k)
        if select:
            rec = {p: rec.get(p) for p in select}
        part = json_body(rec)
        if bad_utf8 and k == start and b'"DisplayName":"' in part:
            # An overlong "/" and a lone continuation byte: not UTF-8 by RFC 3629.
            part = part.replace(b'"DisplayName":"', b'"DisplayName":"\xc0\xaf\x80', 1)
        parts.append(part)
        if len(parts) >= batch:
            yield (b"," if k + 1 - len(parts) > start else b"") + b",".join(parts)
            parts = []
    if parts:
        yield (b"," if end - len(parts) > start else b"") + b",".join(parts)
    if cut is not None:
        yield CUT
        return
    tail = b"]"
    if next_link:
        tail += b',"@odata.nextLink":' + json_body(next_link)
    yield tail + b"}"
    state.count("records", end - start)


# -- stubs the module calls at connect time (exo-protocol.md §6) --------------------------------

def stub_endpoint(state, req, version, segment, what):
    try:
        authenticate(state, req, state.tenant(segment))
    except ExoError as err:
        return err.resp
    if what == "$metadata":
        xml = ('<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" '
               'xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
               '<Schema Namespace="Exchange" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
               '<ComplexType Name="GenericHashTable" OpenType="true"/>'
               '<ComplexType Name="CmdletInvokeInputType"><Property Name="CmdletName" '
               'Type="Edm.String" Nullable="false"/><Property Name="Parameters" '
               'Type="Exchange.GenericHashTable"/></ComplexType>'
               '<Action Name="InvokeCommand"><Parameter Name="CmdletInput" '
               'Type="Exchange.CmdletInvokeInputType" Nullable="false"/><ReturnType '
               'Type="Collection(Exchange.GenericHashTable)"/></Action>'
               '</Schema></edmx:DataServices></edmx:Edmx>')
        return Resp(200, xml.encode(), [("Content-Type", "application/xml;charset=utf-8")])
    if what == "banner":
        return json_resp(200, {"@odata.context": "https://%s/adminapi/%s/%s/$metadata#Edm.String"
                                                 % (req.host, version, segment),
                               "value": "exod fake cloud: Exchange Online simulated for tests."})
    return json_resp(200, {"value": [{"fileName": "ExchangeOnline.psm1", "fileContent": "",
                                      "exportedCmdlets": ",".join(
                                          ["Get-Mailbox", "Set-Mailbox", "Get-AcceptedDomain",
                                           "Get-OrganizationConfig"])}]})
