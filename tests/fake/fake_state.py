"""The simulated cloud's one mutable state object: directory, knobs, counters, grants, all under one lock."""

import collections
import copy
import json
import re
import secrets
import threading
import time
import uuid

from cryptography import x509

import fake_crypto

# The module's own public client ("Microsoft Exchange REST API Based Powershell").
EXO_PUBLIC_CLIENT = "fb78d390-0c51-40cd-8e17-fdbfab77341b"
EXO_RESOURCE_APP = "00000002-0000-0ff1-ce00-000000000000"
# exo-protocol.md §1.1: the five Exchange Online token audiences.
EXO_RESOURCES = ("outlook.office365.com", "outlook.office365.us", "outlook-dod.office365.us",
                 "outlook.office.de", "partner.outlook.cn")
# exo-protocol.md §1.2: Security & Compliance's token audiences (commercial, US Gov, 21Vianet).
SCC_RESOURCES = ("ps.compliance.protection.outlook.com", "ps.compliance.protection.office365.us",
                 "ps.compliance.protection.partner.outlook.cn")
ALL_RESOURCES = EXO_RESOURCES + SCC_RESOURCES
# Security & Compliance's regions: one listener each (a region's label, as in nam12b.ps.compliance...).
REGIONS = ("nam12b", "eur03b")
EXCHANGE_ADMIN_WID = "29232cdf-9323-448a-a2a6-d1a2b1a7ee9c"   # Exchange Administrator role template

DEFAULT_TENANTS = [
    {"name": "contoso.onmicrosoft.com", "id": "6babcaad-604b-40ac-a9d7-9fd97c0b779f",
     "mailboxes": 25,
     "users": [{"upn": "admin@contoso.onmicrosoft.com", "password": "Passw0rd!"},
               {"upn": "mfa@contoso.onmicrosoft.com", "password": "Passw0rd!", "mfa": True}]},
    # A partner's customer, reached with delegated_organization.
    {"name": "fabrikam.onmicrosoft.com", "id": "2f4a9b1c-3d5e-4f60-8a7b-9c0d1e2f3a4b",
     "mailboxes": 10,
     "users": [{"upn": "admin@fabrikam.onmicrosoft.com", "password": "Passw0rd!"}]},
]
DEFAULT_MANAGED_IDENTITIES = [
    {"system": True, "client_id": "7d0f4e2a-1b3c-4d5e-8f90-a1b2c3d4e5f6",
     "object_id": "8e1a5f3b-2c4d-4e6f-9a01-b2c3d4e5f6a7",
     "resource_id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
                    "/providers/Microsoft.Compute/virtualMachines/exod-vm",
     "tenant": "contoso.onmicrosoft.com"},
    {"client_id": "9f2b6a4c-3d5e-4f70-8b12-c3d4e5f6a7b8",
     "object_id": "a03c7b5d-4e6f-4081-9c23-d4e5f6a7b8c9",
     "resource_id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
                    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/exod-uami",
     "tenant": "contoso.onmicrosoft.com"},
]

# Knobs a test may set through POST /_fake/knobs, with their defaults.
DEFAULT_KNOBS = {
    "token_lifetime": 3599,        # expires_in of every access token (may be <= 0 to mint expired ones)
    "refresh_in": None,            # when set, token responses carry refresh_in
    "latency_ms": 0,               # delay before each InvokeCommand page
    "page_size_cap": 1000,         # server-side ceiling on odata.maxpagesize
    "page_size": None,             # records in every page, whatever odata.maxpagesize and the cap
                                   # say: pages larger than a client's memory bound
    "mailboxes": None,             # int for all tenants, or {tenant name|id: int}
    "throttle": None,              # {"count": N, "retry_after": S}
    "fault": None,                 # {"status", "count", "cmdlet", "exception", "drop", "shape"}, or
                                   # {"drop_after_records": N, "count", "cmdlet"}: the connection
                                   # fails after N records of the page
    "device_interval": 5,          # seconds; fractions and 0 allowed for tests
    "device_expires_in": 900,
    "identity_header": "fake-identity-header",
    "mi_fault": None,              # {"status": 503|429|410|404|500, "count": N, "retry_after": S}
    "token_fault": None,           # {"status": 429|500|503, "count": N, "retry_after": S, "drop": bool}
    "gzip": True,
    "skiptoken_ttl": 1800,         # "Default Expiry time is 00:30:00"
    "refresh_token_grace": 60,     # seconds a rotated-out refresh token stays usable
    "clock_offset": 0,             # seconds added to the fake's clock: lets tests age things without waiting
    "chunk_records": 100,          # records per streamed chunk of an InvokeCommand page
    # A hostile or broken upstream, for exod's defences:
    "next_link": None,             # "other_host" | "other_port" | "http" | "userinfo" | "self" | "cycle":
                                   # every page's nextLink goes there (or to itself, or round and round)
    "reject_all_tokens": False,    # every InvokeCommand answers 401, whatever the token
    "bad_utf8": False,             # the first record's DisplayName holds bytes that are not UTF-8
    "cmdlet_errors": None,         # {"count": N, "errors": [...]}: the next N pages carry
                                   # @adminapi.errors (non-terminating errors) beside their records
    # Security & Compliance:
    "compliance_region": None,     # {tenant name|id: region}: moves tenants (default: the first
                                   # tenant and any other in REGIONS[0], the second in REGIONS[1])
    "region_moved_answer": "redirect",  # what a region says to a tenant it does not serve:
                                   # "redirect" (302 to the tenant's region) or "error"
                                   # (400 ErrorIncorrectRoutingHint)
    "compliance_searches": 30,     # records of Get-ComplianceSearch in every tenant
}
ACTION_KNOBS = ("revoke", "revoke_refresh_tokens")

MAX_ISSUED_TRACKED = 200000        # access tokens whose issue order is remembered (for revoke)
MAX_SKIPTOKENS = 10000
MAX_DEVICE_FLOWS = 1000
MAX_AUTH_CODES = 1000
AUTH_CODE_LIFETIME = 600           # seconds: "Authorization codes are short lived ... about 10 minutes"
MAX_REFRESH_TOKENS = 100000
MAX_MAILBOXES = 10000000
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
USER_CODE_LEN = 9

PEM_CERT_RE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ConfigError(Exception):
    pass


class Tenant:
    def __init__(self, spec):
        self.name = _req_str(spec, "name").lower()
        self.id = str(spec.get("id") or uuid.uuid5(uuid.NAMESPACE_DNS, self.name)).lower()
        if not GUID_RE.match(self.id):
            raise ConfigError("tenant %s: id is not a GUID" % self.name)
        self.mailboxes = _req_int(spec, "mailboxes", 25, 0, MAX_MAILBOXES)
        self.users = {}
        for u in spec.get("users", []):
            user = User(u, self)
            self.users[user.upn.lower()] = user

    def matches(self, segment):
        s = segment.lower()
        return s in (self.name, self.id)

    @property
    def label(self):
        return self.name.split(".")[0]


class User:
    def __init__(self, spec, tenant):
        self.upn = _req_str(spec, "upn")
        self.password = _req_str(spec, "password")
        self.mfa = bool(spec.get("mfa", False))
        self.locked = bool(spec.get("locked", False))
        self.disabled = bool(spec.get("disabled", False))
        self.admin = bool(spec.get("admin", True))       # False: token works but Exchange answers 403
        self.tenant = tenant
        self.oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "user:" + self.upn.lower()))


class App:
    def __init__(self, spec):
        self.app_id = _req_str(spec, "app_id").lower()
        self.tenant = spec.get("tenant")
        self.name = spec.get("name", "exod test app")
        self.secret = spec.get("secret")
        self.public = bool(spec.get("public", False))
        self.roles = list(spec.get("roles", ["Exchange.ManageAsApp"]))
        self.directory_role = bool(spec.get("directory_role", True))
        # None: consented in every tenant (a multi-tenant app, as partners use).
        self.tenants = spec.get("tenants")
        self.certs = []                 # (sha1, sha256, public key)
        for path in spec.get("certificates", []):
            with open(path, "rb") as f:
                data = f.read()
            blocks = PEM_CERT_RE.findall(data)
            if not blocks:
                raise ConfigError("app %s: no PEM certificate in %s" % (self.app_id, path))
            for block in blocks:
                cert = x509.load_pem_x509_certificate(block)
                sha1, sha256 = fake_crypto.thumbprints(cert)
                self.certs.append((sha1, sha256, cert.public_key()))
        self.sp_oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "sp:" + self.app_id))

    def consented(self, tenant):
        return self.tenants is None or any(tenant.matches(t) for t in self.tenants)


class ManagedIdentity:
    def __init__(self, spec):
        self.client_id = _req_str(spec, "client_id").lower()
        self.object_id = str(spec.get("object_id") or uuid.uuid5(uuid.NAMESPACE_URL, self.client_id))
        self.resource_id = spec.get("resource_id", "")
        self.tenant = spec.get("tenant")
        self.system = bool(spec.get("system", False))


def _req_str(spec, key):
    v = spec.get(key)
    if not isinstance(v, str) or not v:
        raise ConfigError("missing or empty %r in %s" % (key, json.dumps(spec)[:80]))
    return v


def _req_int(spec, key, default, lo, hi):
    v = spec.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError("%r must be an integer in [%d, %d]" % (key, lo, hi))
    return v


def new_counters():
    return {
        "connections": 0, "requests": 0, "tls_errors": 0,
        "token_requests": {}, "tokens_issued": 0, "token_errors": 0, "refresh_reused": 0,
        "device_requests": 0, "slow_down": 0, "assertions_rejected": 0,
        "authorize_requests": 0, "authorize_pending": 0,
        "mi_requests": 0,
        "invoke_requests": 0, "invoke_by_cmdlet": {}, "pages": 0, "records": 0,
        "streamed_bytes": 0,
        "in_flight": 0, "max_in_flight": 0,
        "unauthorized": 0, "forbidden": 0, "throttled": 0, "faults": 0,
        "pagination_errors": 0, "client_disconnects": 0,
        "frontdoor_requests": 0, "frontdoor_redirects": 0, "compliance_requests": {},
        "region_moved": 0, "routing_hint_refused": 0, "affinity_cookie_returned": 0,
        "last_frontdoor_headers": None,
        "last_invoke_headers": None, "last_invoke_body": None, "last_token_request": None,
    }


class FakeState:
    """Everything the server remembers. Take .lock for any read-modify-write."""

    def __init__(self, config):
        self.lock = threading.Lock()
        self.signer = fake_crypto.TokenSigner()
        self.tenants = [Tenant(t) for t in config.get("tenants", DEFAULT_TENANTS)]
        self.apps = {a.app_id: a for a in (App(s) for s in config.get("apps", []))}
        self.apps.setdefault(EXO_PUBLIC_CLIENT, App({
            "app_id": EXO_PUBLIC_CLIENT, "public": True,
            "name": "Microsoft Exchange REST API Based Powershell", "roles": []}))
        self.mis = [ManagedIdentity(m) for m in
                    config.get("managed_identities", DEFAULT_MANAGED_IDENTITIES)]
        self.knobs = copy.deepcopy(DEFAULT_KNOBS)
        self.counters = new_counters()
        self.serial = 0                                 # issue order of access tokens
        self.issued = collections.OrderedDict()         # uti -> serial
        self.revoke_serial = 0
        self.refresh_tokens = {}                        # token -> record
        self.device_flows = collections.OrderedDict()   # device_code -> flow
        self.auth_codes = collections.OrderedDict()     # authorization code -> grant
        self.browser = None                             # who /authorize signs in: {"action", "upn"}
        self.used_jti = {}                              # jti -> exp
        self.skiptokens = collections.OrderedDict()     # token -> page cursor
        self.overrides = {}                             # tenant id -> {index: {prop: value}}
        self.region_urls = {}                           # region -> https://127.0.0.1:PORT (fake_cloud)

    # -- time and lookups ---------------------------------------------------

    def now(self):
        # Lock-free on purpose: callers already holding the lock use it, and reading one
        # number from the dict is atomic.
        return time.time() + float(self.knobs.get("clock_offset") or 0)

    def knob(self, name):
        with self.lock:
            return copy.deepcopy(self.knobs[name])

    def tenant(self, segment):
        for t in self.tenants:
            if t.matches(segment):
                return t
        return None

    def tenant_region(self, tenant):
        """The Security & Compliance region that serves tenant (knob compliance_region)."""
        with self.lock:
            moved = copy.deepcopy(self.knobs.get("compliance_region")) or {}
        for key, label in moved.items():
            if tenant.matches(key):
                return label
        return REGIONS[1] if self.tenants.index(tenant) == 1 else REGIONS[0]

    def find_user(self, upn):
        for t in self.tenants:
            u = t.users.get(upn.lower())
            if u is not None:
                return u
        return None

    def mailbox_count(self, tenant):
        with self.lock:
            spec = copy.deepcopy(self.knobs.get("mailboxes"))
        if isinstance(spec, int):
            return spec
        if isinstance(spec, dict):
            for key, n in spec.items():
                if tenant.matches(key):
                    return n
        return tenant.mailboxes

    # -- counters -----------------------------------------------------------

    def count(self, name, n=1):
        with self.lock:
            self.counters[name] += n

    def count_in(self, name, key):
        with self.lock:
            d = self.counters[name]
            d[key] = d.get(key, 0) + 1

    def invoke_begin(self):
        with self.lock:
            c = self.counters
            c["in_flight"] += 1
            c["max_in_flight"] = max(c["max_in_flight"], c["in_flight"])

    def invoke_end(self):
        with self.lock:
            self.counters["in_flight"] -= 1

    def snapshot(self):
        with self.lock:
            return copy.deepcopy(self.counters)

    def reset(self):
        with self.lock:
            live = self.counters["in_flight"]
            self.counters = new_counters()
            self.counters["in_flight"] = live
            self.counters["max_in_flight"] = live

    def take_budget(self, knob, match=None):
        """Consume one use of a counted knob ({"count": N, ...}); return a copy or None."""
        with self.lock:
            spec = self.knobs.get(knob)
            if not spec or spec.get("count", 0) <= 0:
                return None
            if match is not None and not match(spec):
                return None
            spec["count"] -= 1
            return dict(spec)

    # -- knobs --------------------------------------------------------------

    def set_knobs(self, update):
        """Validate, then merge. Raise ValueError naming the first bad knob."""
        if not isinstance(update, dict):
            raise ValueError("knobs must be a JSON object")
        for name, value in update.items():
            if name in ACTION_KNOBS:
                if value is not True:
                    raise ValueError("%s: only true is meaningful" % name)
                continue
            if name not in DEFAULT_KNOBS:
                raise ValueError("unknown knob %r" % name)
            _check_knob(name, value)
        with self.lock:
            for name, value in update.items():
                if name == "revoke":
                    self.revoke_serial = self.serial
                elif name == "revoke_refresh_tokens":
                    for rec in self.refresh_tokens.values():
                        rec["revoked"] = True
                else:
                    self.knobs[name] = copy.deepcopy(value)
            return copy.deepcopy(self.knobs)

    # -- access tokens ------------------------------------------------------

    def issue_access_token(self, claims):
        """Sign claims, remembering the issue order so a later revoke can reject the token."""
        with self.lock:
            self.serial += 1
            uti = fake_crypto.b64url(secrets.token_bytes(16))
            self.issued[uti] = self.serial
            while len(self.issued) > MAX_ISSUED_TRACKED:
                self.issued.popitem(last=False)
            self.counters["tokens_issued"] += 1
        claims["uti"] = uti
        return self.signer.sign(claims)

    def token_revoked(self, claims):
        with self.lock:
            serial = self.issued.get(claims.get("uti"), 0)
            return serial <= self.revoke_serial

    # -- refresh tokens -----------------------------------------------------

    def new_refresh_token(self, client_id, user, tenant_id, resource):
        token = "0.A" + fake_crypto.b64url(secrets.token_bytes(48))
        with self.lock:
            if len(self.refresh_tokens) >= MAX_REFRESH_TOKENS:
                self.refresh_tokens.pop(next(iter(self.refresh_tokens)))
            self.refresh_tokens[token] = {"client_id": client_id, "upn": user.upn,
                                          "tenant_id": tenant_id, "resource": resource, "revoked": False,
                                          "superseded_at": None}
        return token

    def use_refresh_token(self, token):
        """Return (record, problem); problem is None, "unknown", "revoked" or "expired"."""
        with self.lock:
            rec = self.refresh_tokens.get(token)
            if rec is None:
                return None, "unknown"
            if rec["revoked"]:
                return rec, "revoked"
            sup = rec["superseded_at"]
            if sup is not None:
                # A rotated-out token used again, within the grace period or not.
                self.counters["refresh_reused"] += 1
            if sup is not None and self.now() - sup > self.knobs["refresh_token_grace"]:
                return rec, "expired"
            if sup is None:
                rec["superseded_at"] = self.now()
            return dict(rec), None

    # -- device flows -------------------------------------------------------

    def new_device_flow(self, client_id, tenant_segment, scope):
        device_code = "DAQABAAEAAA" + fake_crypto.b64url(secrets.token_bytes(96))
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LEN))
        with self.lock:
            interval = self.knobs["device_interval"]
            expires_in = self.knobs["device_expires_in"]
            while len(self.device_flows) >= MAX_DEVICE_FLOWS:
                self.device_flows.popitem(last=False)
            self.device_flows[device_code] = {
                "user_code": user_code, "client_id": client_id, "tenant": tenant_segment,
                "scope": scope, "expires_at": self.now() + expires_in, "interval": interval,
                "status": "pending", "upn": None, "last_poll": None}
        return device_code, user_code, interval, expires_in

    def pending_device_flows(self):
        with self.lock:
            now = self.now()
            return [{"user_code": f["user_code"], "client_id": f["client_id"],
                     "tenant": f["tenant"], "scope": f["scope"],
                     "expires_in": int(f["expires_at"] - now)}
                    for f in self.device_flows.values()
                    if f["status"] == "pending" and f["expires_at"] > now]

    def decide_device_flow(self, user_code, action, upn):
        with self.lock:
            for flow in self.device_flows.values():
                if flow["user_code"] == user_code.upper() and flow["status"] == "pending":
                    flow["status"] = "approved" if action == "approve" else "declined"
                    flow["upn"] = upn
                    return True
        return False

    def poll_device_flow(self, device_code, mono_now):
        """Return (flow copy or None, outcome) and record the poll time."""
        with self.lock:
            flow = self.device_flows.get(device_code)
            if flow is None:
                return None, "unknown"
            last, flow["last_poll"] = flow["last_poll"], mono_now
            if flow["status"] == "redeemed":
                return dict(flow), "redeemed"
            if self.now() >= flow["expires_at"]:
                return dict(flow), "expired"
            if last is not None and mono_now - last < flow["interval"] - DEVICE_POLL_TOLERANCE:
                self.counters["slow_down"] += 1
                return dict(flow), "slow_down"
            if flow["status"] == "approved":
                flow["status"] = "redeemed"
                return dict(flow), "approved"
            return dict(flow), flow["status"]

    # -- the browser's sign-in (authorization code flow) ------------------------

    def set_browser(self, decision):
        """What a person at /authorize does from now on: None (nothing yet), approve or deny."""
        with self.lock:
            self.browser = dict(decision) if decision else None

    def browser_decision(self):
        with self.lock:
            return dict(self.browser) if self.browser else None

    def new_auth_code(self, grant):
        """grant: client_id, tenant, scope, redirect_uri, challenge, upn. Returns the code."""
        code = "0.AUoA" + fake_crypto.b64url(secrets.token_bytes(96))
        with self.lock:
            while len(self.auth_codes) >= MAX_AUTH_CODES:
                self.auth_codes.popitem(last=False)
            self.auth_codes[code] = dict(grant, expires_at=self.now() + AUTH_CODE_LIFETIME,
                                         redeemed=False)
        return code

    def use_auth_code(self, code):
        """Return (grant copy or None, problem): None, "unknown", "redeemed" or "expired".

        A code is spent by its first redemption, whatever comes of it."""
        with self.lock:
            grant = self.auth_codes.get(code)
            if grant is None:
                return None, "unknown"
            if grant["redeemed"]:
                return dict(grant), "redeemed"
            grant["redeemed"] = True
            if self.now() >= grant["expires_at"]:
                return dict(grant), "expired"
            return dict(grant), None

    # -- client assertions --------------------------------------------------

    def remember_jti(self, jti, exp):
        """False when jti was seen before (replay)."""
        with self.lock:
            now = self.now()
            for old in [j for j, e in self.used_jti.items() if e < now - ASSERTION_SKEW]:
                del self.used_jti[old]
            if jti in self.used_jti:
                return False
            self.used_jti[jti] = exp
            return True

    # -- paging -------------------------------------------------------------

    def new_skiptoken(self, cursor):
        token = fake_crypto.b64url(secrets.token_bytes(24))
        with self.lock:
            cursor["created"] = self.now()
            self.skiptokens[token] = cursor
            while len(self.skiptokens) > MAX_SKIPTOKENS:
                self.skiptokens.popitem(last=False)
        return token

    def get_skiptoken(self, token):
        with self.lock:
            cur = self.skiptokens.get(token)
            if cur is None or self.now() - cur["created"] > self.knobs["skiptoken_ttl"]:
                return None
            return dict(cur)

    # -- mailbox edits ------------------------------------------------------

    def mailbox_overrides(self, tenant):
        with self.lock:
            return copy.deepcopy(self.overrides.get(tenant.id, {}))

    def set_mailbox(self, tenant, index, changes):
        with self.lock:
            self.overrides.setdefault(tenant.id, {}).setdefault(index, {}).update(changes)


DEVICE_POLL_TOLERANCE = 0.05       # seconds of timer slop forgiven before answering slow_down
ASSERTION_SKEW = 300               # seconds of clock skew allowed on client assertions


def _check_knob(name, value):
    def num(v, lo=None):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        return ok and (lo is None or v >= lo)

    def counted(v, statuses):
        return (isinstance(v, dict) and isinstance(v.get("count", 0), int) and
                (statuses is None or v.get("status") in statuses))

    checks = {
        "token_lifetime": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "refresh_in": lambda v: v is None or (isinstance(v, int) and v > 0),
        "latency_ms": lambda v: num(v, 0),
        "page_size_cap": lambda v: isinstance(v, int) and 1 <= v <= 1000,
        "mailboxes": lambda v: v is None or (isinstance(v, int) and 0 <= v <= MAX_MAILBOXES) or (
            isinstance(v, dict) and all(isinstance(n, int) and 0 <= n <= MAX_MAILBOXES
                                        for n in v.values())),
        "throttle": lambda v: v is None or (counted(v, None) and num(v.get("retry_after", 1), 0)),
        "fault": lambda v: v is None or counted(v, (400, 403, 500, 502, 503, 504)) or (
            counted(v, None) and v.get("drop") is True) or (
            counted(v, None) and isinstance(v.get("drop_after_records"), int) and
            not isinstance(v["drop_after_records"], bool) and v["drop_after_records"] >= 0),
        "page_size": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and
                                             1 <= v <= MAX_MAILBOXES),
        "device_interval": lambda v: num(v, 0),
        "device_expires_in": lambda v: num(v, 0),
        "identity_header": lambda v: isinstance(v, str) and 0 < len(v) <= 1024,
        "mi_fault": lambda v: v is None or counted(v, (404, 410, 429, 500, 503)),
        "token_fault": lambda v: v is None or counted(v, (429, 500, 503)) or (
            counted(v, None) and v.get("drop") is True),
        "gzip": lambda v: isinstance(v, bool),
        "skiptoken_ttl": lambda v: num(v, 0),
        "refresh_token_grace": lambda v: num(v, 0),
        "clock_offset": lambda v: num(v),
        "chunk_records": lambda v: isinstance(v, int) and 1 <= v <= 10000,
        "next_link": lambda v: v is None or v in ("other_host", "other_port", "http", "userinfo",
                                                  "self", "cycle"),
        "reject_all_tokens": lambda v: isinstance(v, bool),
        "cmdlet_errors": lambda v: v is None or (counted(v, None) and
                                                 isinstance(v.get("errors", []), list)),
        "bad_utf8": lambda v: isinstance(v, bool),
        "compliance_region": lambda v: v is None or (
            isinstance(v, dict) and all(isinstance(r, str) and r in REGIONS for r in v.values())),
        "region_moved_answer": lambda v: v in ("redirect", "error"),
        "compliance_searches": lambda v: isinstance(v, int) and 0 <= v <= MAX_MAILBOXES,
    }
    if not checks[name](value):
        raise ValueError("bad value for knob %r: %s" % (name, json.dumps(value)[:100]))
