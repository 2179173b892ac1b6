"""Security & Compliance side of the fake: the front door, the regional hosts, compliance cmdlets.

exo-protocol.md §1.2: the front door answers a tenant's requests with a 302 whose Location names the
tenant's regional host; clients call InvokeCommand there.  Each region here is its own listener on
127.0.0.1 (fake_cloud.py starts them); the knob compliance_region moves a tenant, and a region then
answers that tenant as region_moved_answer says.  The routing hint must name a domain of the tenant
in the URL, at the front door and in the region; the region sets an affinity cookie and counts the
requests that bring it back.
"""

import functools
import re
import uuid

import fake_exo
from fake_exo import ExoError, Source, err_message
from fake_http import Resp, json_resp
from fake_state import SCC_RESOURCES

PATH_RE = re.compile(r"^/adminapi/(beta|v1\.0)/([^/]+)/(.+)$", re.I)
AFFINITY_COOKIE = "ExoComplianceAffinity"
MOVED_CODE = "ErrorIncorrectRoutingHint"
LABELS = ("Public", "General", "General/Anyone (unrestricted)", "General/All Employees",
          "Confidential", "Confidential/Recipients Only", "Highly Confidential",
          "Highly Confidential/Project Falcon")
DLP_POLICIES = (("U.S. Financial Data", "Enable"), ("GDPR Enhanced", "Enable"),
                ("PCI Data Security Standard", "TestWithNotifications"),
                ("U.K. Personal Information", "TestWithoutNotifications"),
                ("Source code (custom)", "Disable"))
SEARCH_STATUS = ("Completed", "Completed", "Completed", "InProgress", "NotStarted")
COMPLIANCE_NS = uuid.UUID("0d9e1f7a-3c5b-4e8d-9a21-6b4f2c8e7d13")


def _guid(tenant, kind, n):
    return str(uuid.uuid5(COMPLIANCE_NS, "%s/%s/%d" % (tenant.id, kind, n)))


# -- generated records ---------------------------------------------------------------------

def _search(tenant, i):
    n = i + 1
    created = fake_exo.CREATED_BASE.replace(day=1 + i % 28, hour=8 + i % 10)
    name = "Search %03d" % n
    return {"Name": name, "Identity": _guid(tenant, "search", n), "RunBy": "admin@" + tenant.name,
            "CreatedBy": "admin@" + tenant.name, "Status": SEARCH_STATUS[i % len(SEARCH_STATUS)],
            "ContentMatchQuery": "subject:\"quarterly report %d\"" % n,
            "ExchangeLocation": ["All"], "SharePointLocation": [] if n % 3 else ["All"],
            "Items": 17 * n, "Size": 40960 * n, "CaseName": "" if n % 4 else "Case %d" % (n // 4),
            "CreatedTime": created.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _label(tenant, i):
    name = LABELS[i]
    parent = name.rpartition("/")[0]
    return {"Name": name.replace(" ", "").replace("/", "-"), "DisplayName": name.rpartition("/")[2],
            "Guid": _guid(tenant, "label", i), "ImmutableId": _guid(tenant, "label-id", i),
            "Priority": i, "ParentId": _guid(tenant, "label", LABELS.index(parent)) if parent else None,
            "ContentType": "File, Email", "Disabled": False, "Mode": "Enforce",
            "Tooltip": "Data classified as %s." % name}


def _dlp(tenant, i):
    name, mode = DLP_POLICIES[i]
    return {"Name": name, "Identity": _guid(tenant, "dlp", i), "Mode": mode,
            "Enabled": mode != "Disable", "Workload": "Exchange, SharePoint, OneDriveForBusiness",
            "ExchangeLocation": ["All"], "SharePointLocation": ["All"],
            "OneDriveLocation": ["All"], "Priority": i, "CreatedBy": "admin@" + tenant.name}


def _listing(count, make, params, keys):
    """A Source over count records made by make(i); -Identity picks one by any of keys."""
    want = params.get("Identity")
    if want is None:
        return Source(count, make)
    for i in range(count):
        rec = make(i)
        if any(str(rec.get(k, "")).lower() == str(want).lower() for k in keys):
            return Source(1, lambda _k, rec=rec: rec)
    raise fake_exo.ExoError(fake_exo.err_details(
        404, "The operation couldn't be performed because object '%s' couldn't be found." % want,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", target=want))


def get_compliance_search(state, tenant, params):
    fake_exo._check_params(params, {"Identity", "Case", "ResultSize"})
    total = state.knob("compliance_searches")
    size = fake_exo._result_size(params)
    count = total if size is None else min(total, size)
    src = _listing(count, functools.partial(_search, tenant), params, ("Name", "Identity"))
    src.truncated = params.get("Identity") is None and count < total
    return src


def get_label(state, tenant, params):
    fake_exo._check_params(params, {"Identity", "IncludeDetailedLabelActions", "SkipValidations",
                                    "ReturnModernLabelScheme", "ValidateContentTypeRemoval"})
    return _listing(len(LABELS), functools.partial(_label, tenant), params,
                    ("Name", "DisplayName", "Guid", "ImmutableId"))


def get_dlp_compliance_policy(state, tenant, params):
    fake_exo._check_params(params, {"Identity", "DisplayName", "DistributionDetail", "Summary",
                                    "ForceValidate", "IncludeExtendedProperties",
                                    "IncludeRulesMetadata", "IncludeSimulationResults",
                                    "IRMUserRiskConfiguredAnyRule"})
    return _listing(len(DLP_POLICIES), functools.partial(_dlp, tenant), params, ("Name", "Identity"))


CMDLETS = {"get-compliancesearch": get_compliance_search, "get-label": get_label,
           "get-dlpcompliancepolicy": get_dlp_compliance_policy}


# -- routing ---------------------------------------------------------------------------------

def _domains(tenant):
    return (tenant.name, "%s.mail.onmicrosoft.com" % tenant.label, "%s.com" % tenant.label)


def _check_hint(state, req, tenant):
    """The routing hint must name a domain of the tenant in the URL (exo-protocol.md §1.2)."""
    hint = req.header("X-AnchorMailbox")
    domain = hint.rpartition("@")[2].lower() if "@" in hint else None
    if tenant is not None and domain in _domains(tenant):
        return
    state.count("routing_hint_refused")
    if not hint:
        raise ExoError(err_message(400, "The request has no routing hint (X-AnchorMailbox): "
                                        "Security & Compliance cannot tell the tenant's region."))
    raise ExoError(err_message(400, "The routing hint '%s' does not name a domain of the tenant "
                                    "in the request URL." % hint))


def _redirect(state, tenant, segment):
    """302 to the tenant's region, as the front door's Location on <region>.admin...:446."""
    url = "%s/AdminApi/v1.0/%s/EXOModuleFile" % (state.region_urls[state.tenant_region(tenant)],
                                                 segment)
    return Resp(302, b"", [("Location", url), ("request-id", str(uuid.uuid4())),
                           ("Content-Type", "text/html; charset=utf-8")])


def _record(state, key, req):
    hdrs = {k: ("Bearer <redacted>" if k.lower() == "authorization" else v)
            for k, v in req.headers.items()}
    with state.lock:
        state.counters[key] = hdrs


def frontdoor_endpoint(state, req):
    """Every admin API request at the front door: authenticated, routed, redirected."""
    state.count("frontdoor_requests")
    _record(state, "last_frontdoor_headers", req)
    m = PATH_RE.match(req.path)
    if m is None:
        return json_resp(404, {"error": {"code": "NotFound", "message": "No route for %s" % req.path}})
    segment = m.group(2)
    tenant = state.tenant(segment)
    try:
        fake_exo.authenticate(state, req, tenant, SCC_RESOURCES)
        _check_hint(state, req, tenant)
    except ExoError as err:
        return err.resp
    state.count("frontdoor_redirects")
    return _redirect(state, tenant, segment)


def _cookies(req):
    out = {}
    for part in req.header("Cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def _affinity_value(label, tenant):
    return "%s.%s" % (label, tenant.id[:8])


def _gate(label, state, req, tenant):
    """A region serves only the tenants homed there, and only with the right hint."""
    state.count_in("compliance_requests", label)
    _check_hint(state, req, tenant)
    home = state.tenant_region(tenant)
    if home != label:
        state.count("region_moved")
        if state.knob("region_moved_answer") == "error":
            raise ExoError(json_resp(400, {"error": {
                "code": MOVED_CODE, "message": "The tenant is not served in region %s." % label}},
                [("request-id", str(uuid.uuid4()))]))
        raise ExoError(_redirect(state, tenant, tenant.id))
    if _cookies(req).get(AFFINITY_COOKIE) == _affinity_value(label, tenant):
        state.count("affinity_cookie_returned")


def _affinity(label, state, req, tenant):
    value = _affinity_value(label, tenant)
    if _cookies(req).get(AFFINITY_COOKIE) == value:
        return []
    return [("Set-Cookie", "%s=%s; Path=/; Secure; HttpOnly" % (AFFINITY_COOKIE, value))]


def regional_endpoint(state, req, label):
    """InvokeCommand (and the module file) on region label's host."""
    m = PATH_RE.match(req.path)
    if m is None:
        return json_resp(404, {"error": {"code": "NotFound", "message": "No route for %s" % req.path}})
    version, segment, what = m.group(1).lower(), m.group(2), m.group(3).lower()
    if what == "invokecommand":
        service = fake_exo.Service(SCC_RESOURCES, CMDLETS, functools.partial(_gate, label),
                                   functools.partial(_affinity, label))
        return fake_exo.invoke_endpoint(state, req, version, segment, service)
    if what == "exomodulefile":
        try:
            fake_exo.authenticate(state, req, state.tenant(segment), SCC_RESOURCES)
        except ExoError as err:
            return err.resp
        return json_resp(200, {"value": [{"fileName": "ExchangeOnline.psm1", "fileContent": "",
                                          "exportedCmdlets": "Get-ComplianceSearch,Get-Label,"
                                                             "Get-DlpCompliancePolicy"}]})
    return json_resp(404, {"error": {"code": "NotFound", "message": "No route for %s" % req.path}})
