#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses: tests/fuzz/corpus/NAME/*.

Run from the repository root: /usr/bin/python3 tests/fuzz/make_corpus.py
The output is committed; run this again only to change the seeds.  Every
file is deterministic except the certificate files, which openssl makes
once (a throw-away test key) and which are kept when they already exist.

Files are small: each is one meaningful input, named for what it is.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = "36ee4c6c-0812-40a2-b820-b22ebd02bce3"
DEVICE_APP_ID = "fb78d390-0c51-40cd-8e17-fdbfab77341b"
AUTHORITY = "https://login.microsoftonline.com"
PAGING = ("There are more results available than are currently displayed. To view them, "
          "increase the value for the ResultSize parameter.")


def put(name, fname, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def js(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(payload, header=None):
    header = header or {"typ": "JWT", "alg": "RS256", "x5t": "nOo3ZDrODXEK1jKWhXslHR_KXEg",
                        "kid": "nOo3ZDrODXEK1jKWhXslHR_KXEg"}
    signing = b64url(js(header).encode()) + "." + b64url(js(payload).encode())
    # A stand-in signature: 256 bytes, as RS256 has, derived so that the file is stable.
    sig = b"".join(hashlib.sha256(signing.encode() + bytes([i])).digest() for i in range(8))
    return signing + "." + b64url(sig)


def mailbox(i):
    return {
        "@odata.type": "#Exchange.GenericHashTable",
        "Name": "user%d" % i,
        "Identity": "user%d" % i,
        "DisplayName": "User %d (Zoë)" % i,
        "PrimarySmtpAddress": "user%d@contoso.onmicrosoft.com" % i,
        "RecipientTypeDetails": "UserMailbox",
        "ExchangeGuid": "8d6c0b87-4d1a-4f5c-9e1b-2a2f3b4c5d%02d" % i,
        "EmailAddresses": ["SMTP:user%d@contoso.onmicrosoft.com" % i, "smtp:u%d@contoso.com" % i],
        "ProhibitSendQuota": "99 GB (106,300,440,576 bytes)",
        "HiddenFromAddressListsEnabled": i % 2 == 0,
        "IssueWarningQuota": None,
        "ArchiveQuota": 1.5e11,
        "WhenCreated": "2023-11-14T22:13:20Z",
    }


# ---- exo_page: InvokeCommand result pages (exo-protocol.md §3.1, §3.2) ----

def exo_page():
    ctx = "https://outlook.office365.com/adminapi/beta/%s/$metadata#Collection(Exchange.GenericHashTable)" % TENANT
    put("exo_page", "page_records_nextlink.json", js({
        "@odata.context": ctx,
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [PAGING],
        "value": [mailbox(1), mailbox(2), mailbox(3)],
        "@odata.nextLink": "https://outlook.office365.com/adminapi/beta/%s/InvokeCommand?%%24skiptoken=eyJTa2lwIjozfQ%%3d%%3d" % TENANT,
    }))
    put("exo_page", "page_last_with_warnings.json", js({
        "@odata.context": ctx,
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": ["The command completed successfully but no settings of 'user1' have been modified.",
                               "Ünïcode wärning \u2603"],
        "value": [mailbox(4)],
    }))
    put("exo_page", "page_adminapi_errors.json", js({
        "@odata.context": ctx,
        "@adminapi.warnings": [],
        "@adminapi.errors": [
            "Couldn't find object \"ghost@contoso.com\".",
            {"Message": "The operation couldn't be performed because object 'x' couldn't be found.",
             "TypeName": "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"},
        ],
        "value": [mailbox(5), "plain string record", 42, True, None],
    }))
    put("exo_page", "page_empty.json", js({"@odata.context": ctx, "@adminapi.warnings": [], "value": []}))
    put("exo_page", "page_value_null.json", js({"@odata.context": ctx, "value": None}))
    put("exo_page", "page_no_value.json", js({"@odata.context": ctx, "@adminapi.warnings": []}))
    put("exo_page", "page_nested.json", js({"value": [{"a": {"b": [1, [2, [3, {"c": None}]]]},
                                                     "n": 123456789012345678901234567890}]}))
    # Pretty-printed, with escapes and numbers of every form.
    put("exo_page", "page_pretty.json", json.dumps({
        "value": [{"s": "tab\tquote\" back\\ slash/ \u00e9 \ud83d\ude00", "i": -0, "f": -1.25e-3,
                   "big": 1e308}],
        "@odata.nextLink": "https://outlook.office365.com/next?x=1",
    }, indent=2, ensure_ascii=True))
    put("exo_page", "bad_truncated.json", js({"value": [mailbox(6)]})[:200])
    put("exo_page", "bad_value_object.json", '{"value":{"Name":"x"}}')
    put("exo_page", "bad_top_array.json", '[{"value":[]}]')


# ---- exo_error: error bodies of every shape in exo-protocol.md §3.3 ----

def exo_error():
    warn = {"adminapi.warnings@odata.type": "#Collection(String)", "@adminapi.warnings": []}
    odata_ex = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
    e = {"error": {"code": "BadRequest", "message": "Invalid Operation",
                   "innererror": {"message": "Invalid Operation", "type": odata_ex, "stacktrace": "",
                                  "internalexception": {
                                      "message": "Cannot process argument transformation on parameter 'QuarantineTypes'. "
                                                 "Cannot convert value \"Nonsense\" to type ... Specify one of the following "
                                                 "enumerator names and try again: Bulk, Spam, TransportRule",
                                      "type": "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException",
                                      "stacktrace": ""}}}}
    e["error"].update(warn)
    put("exo_error", "400_bad_enum_internalexception.json", js(e))
    amb = "|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|Parameter set cannot be resolved using the specified named parameters."
    put("exo_error", "400_unknown_parameter_details.json", js({"error": {
        "code": "BadRequest", "message": "Error executing cmdlet",
        "details": [{"code": "Client", "target": "", "message": amb}],
        "innererror": {"message": "Error executing cmdlet", "type": odata_ex, "stacktrace": "",
                       "internalexception": {"message": amb[amb.index("|", 1) + 1:],
                                             "type": "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException",
                                             "stacktrace": ""}}}}))
    put("exo_error", "400_details_errorid_class.json", js({"error": {
        "code": "BadRequest", "message": "Error executing cmdlet",
        "details": [{"code": "Context", "target": "ghost",
                     "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'ghost' couldn't be found on 'DM6PR14A001.NAMPR14A001.PROD.OUTLOOK.COM'."}],
        "innererror": {"message": "x", "type": odata_ex}}}))
    put("exo_error", "400_details_json_string.json", js({"error": {
        "code": "BadRequest", "message": "Error executing cmdlet",
        "details": [{"code": "Client", "target": "",
                     "message": js({"Message": "The proxy address \"SMTP:a@contoso.com\" is already being used.",
                                    "TypeName": "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                                    "StackTrace": None, "InnerError": None})}]}}))
    put("exo_error", "404_details_json_string.json", js({"error": {
        "code": "NotFound", "message": "Error executing cmdlet",
        "details": [{"code": 12, "target": "ghost", "message": js({
            "Message": "The operation couldn't be performed because object 'ghost' couldn't be found.",
            "TypeName": "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"})}]}}))
    put("exo_error", "401_unauthorized_role.json", js({"error": {
        "code": "Unauthorized", "message": "User is not allowed to call Get-Mailbox",
        "innererror": {"message": "User is not allowed to call Get-Mailbox", "type": odata_ex, "stacktrace": ""}}}))
    put("exo_error", "500_adtransient.json", js({"error": {
        "code": "InternalServerError", "message": "Error executing cmdlet",
        "innererror": {"message": "x", "type": odata_ex,
                       "internalexception": {"message": "Active Directory operation failed on DC1. This error is not retriable.",
                                             "type": "Microsoft.Exchange.Data.Directory.ADTransientException"}}}}))
    put("exo_error", "500_dcoverloaded_details.json", js({"error": {
        "code": "InternalServerError", "message": "Error executing cmdlet",
        "details": [{"code": "Server", "message": "|Microsoft.Exchange.Data.Directory.DCOverloadedException|The domain controller is overloaded."}]}}))
    put("exo_error", "400_pagination_expired.json", js({"error": {
        "code": "BadRequest", "message": "Invalid Operation",
        "innererror": {"internalexception": {"message": "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
                                             "type": "System.ArgumentException"}}}}))
    put("exo_error", "error_upper_case_keys.json", '{"Error":{"Code":"Forbidden","Message":"  Access denied  \\r\\n"}}')
    put("exo_error", "403_nul_bytes.bin", b"\0" * 4096)
    put("exo_error", "502_html_gateway.html",
        "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\r\n")
    put("exo_error", "empty_object.json", "{}")
    put("exo_error", "error_not_object.json", '{"error":"unauthorized_client"}')


# ---- exo_body: cmdlet name line, then the client's params JSON (§2.4) ----

def exo_body():
    put("exo_body", "set_mailbox_scalars.txt", "Set-Mailbox\n" + js({
        "Identity": "a@contoso.com", "HiddenFromAddressListsEnabled": True, "ProhibitSendQuota": "49GB",
        "RetainDeletedItemsFor": 30, "ArchiveQuota": 1.5e11, "CustomAttribute1": None}))
    put("exo_body", "set_mailbox_add_remove.txt", "Set-Mailbox\n" + js({
        "Identity": "a@contoso.com",
        "EmailAddresses": {"Add": ["smtp:b@contoso.com"], "Remove": ["smtp:c@contoso.com"]},
        "GrantSendOnBehalfTo": {"@odata.type": "#Exchange.StringFieldDeltaUpdateData", "Add": ["d"]}}))
    put("exo_body", "set_label_nested_hashtables.txt", "Set-Label\n" + js({
        "Identity": "Confidential", "AdvancedSettings": {"color": "#FF0000", "nested": {"deeper": {"x": [1, {"y": 2}]}}}}))
    put("exo_body", "bytes_array.txt", "Set-DlpSensitiveInformationTypeRulePackage\n" + js({
        "FileData": {"@odata.type": "#Exchange.ByteArrayType", "Data": [80, 75, 3, 4, 0, 255]}}))
    put("exo_body", "get_mailbox_empty.txt", "Get-Mailbox\n{}")
    put("exo_body", "get_mailbox_no_params.txt", "Get-Mailbox\n")
    put("exo_body", "params_only.json", js({"ResultSize": "Unlimited", "Filter": "Name -like 'a*'"}))
    put("exo_body", "bad_cmdlet_name.txt", "Get-Mailbox; rm -rf /\n{}")
    put("exo_body", "params_not_object.txt", "Get-Mailbox\n[1,2,3]")
    put("exo_body", "deep_params.txt", "Get-Mailbox\n" + '{"a":' * 70 + "1" + "}" * 70)


# ---- oauth: first byte picks status (index into fuzz_oauth.c's table) and Retry-After ----

def oauth():
    S200, S400, S401, S429, S500, S503 = 0, 1, 2, 5, 6, 8
    at = jwt({"aud": "https://outlook.office365.com", "iss": "https://sts.windows.net/%s/" % TENANT,
              "iat": 1700000000, "nbf": 1700000000, "exp": 1700003599, "appid": APP_ID,
              "roles": ["Exchange.ManageAsApp"], "tid": TENANT})

    def put_o(fname, status, body, retry=0):
        put("oauth", fname, bytes([status | (retry << 4)]) + (body.encode() if isinstance(body, str) else body))

    put_o("200_client_credentials.json", S200, js({"token_type": "Bearer", "expires_in": 3599,
                                                   "ext_expires_in": 3599, "access_token": at}))
    put_o("200_refresh_grant.json", S200, js({
        "token_type": "Bearer", "scope": "https://outlook.office365.com/.default", "expires_in": "4886",
        "ext_expires_in": "4886", "refresh_in": 2443, "access_token": at,
        "refresh_token": "0.ARoAv4j5cvGGr0GRqy180BHbR-refresh.token_value", "id_token": "x.y.z",
        "client_info": "eyJ1aWQiOiIxIn0"}))
    put_o("200_no_access_token.json", S200, js({"token_type": "Bearer", "expires_in": 3599}))
    put_o("400_invalid_client_AADSTS7000215.json", S401, js({
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0b1c\r\nCorrelation ID: 5d2e\r\nTimestamp: 2023-11-14 22:13:20Z",
        "error_codes": [7000215], "timestamp": "2023-11-14 22:13:20Z", "trace_id": "0b1c",
        "correlation_id": "5d2e", "error_uri": "https://login.microsoftonline.com/error?code=7000215"}))
    put_o("400_interaction_required_AADSTS50076.json", S400, js({
        "error": "interaction_required",
        "error_description": "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'.",
        "error_codes": [50076], "suberror": "basic_action", "claims": "{\"access_token\":{\"capolids\":{\"essential\":true}}}"}))
    put_o("400_invalid_grant_AADSTS70008.json", S400, js({
        "error": "invalid_grant", "error_description": "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
        "error_codes": [70008]}))
    put_o("400_authorization_pending.json", S400, js({
        "error": "authorization_pending", "error_description": "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.",
        "error_codes": [70016]}))
    put_o("429_throttled_AADSTS50196.json", S429, js({
        "error": "temporarily_unavailable", "error_description": "AADSTS50196: The server terminated an operation because it encountered a client request loop.",
        "error_codes": [50196]}), retry=1)
    put_o("503_temporarily_unavailable.json", S503, js({"error": "temporarily_unavailable",
                                                        "error_description": "AADSTS90033: A transient error has occurred."}), retry=2)
    put_o("500_html.html", S500, "<!DOCTYPE html><html><body>Service Unavailable</body></html>", retry=3)
    put_o("400_error_codes_string.json", S400, js({"error": "invalid_request", "error_codes": ["50076"]}))
    put_o("200_empty_body.bin", S200, b"")


# ---- mi: first byte = kind (bit 0), status index (bits 1-3), Retry-After (bits 4-5) ----

def mi():
    IMDS, APP = 0, 1
    S200, S400, S404, S429, S500 = 0, 2, 3, 5, 6
    at = jwt({"aud": "https://outlook.office365.com", "iss": "https://sts.windows.net/%s/" % TENANT,
              "iat": 1700000000, "nbf": 1700000000, "exp": 1700086399, "appid": "5e0b2f8a-1c1d-4a8e-9d1b-2f3c4d5e6f70",
              "xms_mirid": "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
              "tid": TENANT})

    def put_m(fname, kind, status, body, retry=0):
        put("mi", fname, bytes([kind | (status << 1) | (retry << 4)]) + body.encode())

    put_m("imds_200.json", IMDS, S200, js({
        "access_token": at, "client_id": "5e0b2f8a-1c1d-4a8e-9d1b-2f3c4d5e6f70", "expires_in": "86399",
        "expires_on": "1700086399", "ext_expires_in": "86399", "not_before": "1700000000",
        "resource": "https://outlook.office365.com", "token_type": "Bearer"}))
    put_m("imds_200_expires_on_only.json", IMDS, S200, js({"access_token": at, "expires_on": 1700003600,
                                                          "token_type": "Bearer"}))
    put_m("appservice_200.json", APP, S200, js({
        "access_token": at, "expires_on": "1700003599", "resource": "https://outlook.office365.com",
        "token_type": "Bearer", "client_id": "5e0b2f8a-1c1d-4a8e-9d1b-2f3c4d5e6f70"}))
    put_m("appservice_200_2017_date.json", APP, S200, js({
        "access_token": at, "expires_on": "09/14/2017 00:00:00 PM +00:00", "token_type": "Bearer"}))
    put_m("imds_200_bad_token_chars.json", IMDS, S200, js({"access_token": "a b\r\nX-Evil: 1",
                                                          "expires_in": "3599"}))
    put_m("imds_400_identity_not_found.json", IMDS, S400, js({
        "error": "invalid_request", "error_description": "Identity not found"}))
    put_m("imds_404.json", IMDS, S404, js({"error": "not_found", "error_description": "Instance metadata not ready"}))
    put_m("imds_429.json", IMDS, S429, js({"error": "too_many_requests",
                                           "error_description": "Too many requests, retry later"}), retry=2)
    put_m("appservice_400.json", APP, S400, js({"statusCode": 400, "message": "Unable to load the proper Managed Identity.",
                                                "correlationId": "7f6c5b4a-0000-1111-2222-333344445555"}))
    put_m("appservice_500_text.txt", APP, S500, "Internal Server Error\n", retry=3)
    # For the strings: expires_in, expires_on, Retry-After, configured endpoint, IDENTITY_HEADER,
    # IDENTITY_ENDPOINT, client_id, object_id, resource_id; one per line.
    put_m("strings_appservice.txt", APP, S200, "\n".join([
        "3599", "1700003600", "7", "", "s3cret-identity-header", "http://127.0.0.1:41741/msi/token",
        "5e0b2f8a-1c1d-4a8e-9d1b-2f3c4d5e6f70", "", ""]))
    put_m("strings_imds_resource_id.txt", IMDS, S500, "\n".join([
        "", "1700000100", "Wed, 21 Oct 2015 07:28:00 GMT", "http://127.0.0.1:40342/metadata/identity/oauth2/token?x=1",
        "", "", "", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "/subscriptions/s1/resourceGroups/rg 1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/exod"]))


# ---- jwt: tokens as text ----

def jwt_corpus():
    put("jwt", "app_token.jwt", jwt({
        "aud": "https://outlook.office365.com", "iss": "https://sts.windows.net/%s/" % TENANT,
        "iat": 1700000000, "nbf": 1700000000, "exp": 1700003599, "aio": "E2NgYDhv",
        "app_displayname": "exod", "appid": APP_ID, "appidacr": "2", "idp": "https://sts.windows.net/%s/" % TENANT,
        "oid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "roles": ["Exchange.ManageAsApp"],
        "sub": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "tid": TENANT, "ver": "1.0"}))
    put("jwt", "delegated_token.jwt", jwt({
        "aud": "https://outlook.office365.com", "exp": 1700004886, "azp": DEVICE_APP_ID,
        "upn": "admin@contoso.onmicrosoft.com", "unique_name": "admin@contoso.onmicrosoft.com",
        "scp": "Exchange.Manage", "tid": TENANT, "ver": "2.0"}))
    put("jwt", "preferred_username.jwt", jwt({"exp": "1700004886", "preferred_username": "ä@contoso.com",
                                              "tid": 12345, "appid": None}, {"alg": "PS256", "typ": "JWT"}))
    put("jwt", "padded_segments.jwt", base64.urlsafe_b64encode(b'{"alg":"none"}').decode() + "." +
        base64.urlsafe_b64encode(b'{"exp":1e3,"tid":"t"}').decode() + ".")
    put("jwt", "not_a_jwt.txt", "this.is.not-base64!")
    put("jwt", "two_segments.txt", "eyJhbGciOiJub25lIn0.eyJleHAiOjF9")
    put("jwt", "b64url_raw.txt", b64url(bytes(range(256))))


# ---- cert: PFX and PEM files made once with openssl ----

def openssl(*args, **kw):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kw)


def cert():
    """The key pair is made once; every other file is derived from it when missing."""
    d = os.path.join(CORPUS, "cert")
    os.makedirs(d, exist_ok=True)

    def have(n):
        return os.path.exists(os.path.join(d, n))

    with tempfile.TemporaryDirectory() as t:
        key, crt = os.path.join(t, "k.pem"), os.path.join(t, "c.pem")
        if not have("pem_cert_then_key.pem"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "3650", "-subj", "/CN=exod fuzz test (not a secret)", "-sha256")
            put("cert", "pem_cert_then_key.pem", open(crt, "rb").read() + open(key, "rb").read())
        both = open(os.path.join(d, "pem_cert_then_key.pem"), "rb").read()
        cut = both.index(b"-----END CERTIFICATE-----\n") + len(b"-----END CERTIFICATE-----\n")
        c, k = both[:cut], both[cut:]
        open(crt, "wb").write(c)
        open(key, "wb").write(k)
        if not have("pem_key_then_cert.pem"):
            put("cert", "pem_key_then_cert.pem", k + c)
        if not have("pem_encrypted_key.pem"):
            enc = os.path.join(t, "e.pem")
            openssl("pkey", "-in", key, "-aes-256-cbc", "-passout", "pass:exod-fuzz", "-out", enc)
            put("cert", "pem_encrypted_key.pem", c + open(enc, "rb").read())
        # One PBKDF iteration (-iter 1, MAC included) keeps each try fast; the formats are
        # those of real exports: AES (OpenSSL 3 default), no password, legacy 3DES/RC2.
        pfx = os.path.join(t, "p.pfx")
        for name, args in (
                ("pfx_aes_password.pfx", ["-passout", "pass:exod-fuzz", "-certpbe", "AES-256-CBC",
                                          "-keypbe", "AES-256-CBC", "-macalg", "SHA256"]),
                ("pfx_no_password.pfx", ["-passout", "pass:"]),
                ("pfx_legacy_3des.pfx", ["-legacy", "-passout", "pass:exod-fuzz"])):
            if not have(name):
                openssl("pkcs12", "-export", "-in", crt, "-inkey", key, "-out", pfx, "-iter", "1", *args)
                put("cert", name, open(pfx, "rb").read())
        # An EC key is refused (not RSA).
        if not have("pem_ec_key.pem"):
            eck, ecc = os.path.join(t, "ek.pem"), os.path.join(t, "ec.pem")
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", eck, "-out", ecc, "-days", "3650", "-subj", "/CN=exod fuzz ec")
            put("cert", "pem_ec_key.pem", open(ecc, "rb").read() + open(eck, "rb").read())


# ---- conf: exod.conf files ----

def conf():
    put("conf", "every_section.conf", """\
; every key of [exod] and one profile per sign-in method
[exod]
socket = /run/exod/exod.sock
socket_mode = 0660
state_dir = /var/lib/exod
log_level = debug
max_clients = 1024

[profile cert-file]
organization = contoso.onmicrosoft.com
auth = certificate
app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3
certificate_file = /etc/exod/contoso.pfx
certificate_password_file = contoso-pfx-pass
assertion_algorithm = RS256
environment = O365Default
connection_uri = https://outlook.office365.com
authority_uri = https://login.microsoftonline.com
ca_file = /etc/ssl/certs/ca-certificates.crt
proxy = http://proxy.example.com:3128
page_size = 1000
max_connections = 3
queue_limit = 100
queue_timeout = 120
request_timeout = 960
refresh_margin = 600
allow_users = alice, 1001
allow_groups = exoadmins
read_only_users = nagios
read_only_groups = helpdesk

[profile cert-pem]
organization = contoso.onmicrosoft.com
auth = certificate
app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3
certificate_file = /etc/exod/contoso.crt
certificate_key_file = /etc/exod/contoso.key

[profile cert-store]
organization = 72f988bf-86f1-41af-91ab-2d7cd011db47
auth = certificate
app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3
certificate_thumbprint = 4C:36:7A:1D:E4:0B:9F:12:33:61:C0:AA:7E:58:05:9D:12:8F:3B:6E
certificate_store = /etc/exod/certs

[profile secret]
organization = contoso.onmicrosoft.com
auth = secret
app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3
client_secret_file = contoso-secret
environment = O365USGovGCCHigh

[profile device]
organization = contoso.onmicrosoft.com
auth = device
user_principal_name = admin@contoso.onmicrosoft.com
delegated_organization = fabrikam.onmicrosoft.com

[profile password]
organization = contoso.onmicrosoft.com
auth = password
user_principal_name = admin@contoso.onmicrosoft.com
password_file = /etc/exod/admin.password
environment = O365China

[profile mi-system]
organization = contoso.onmicrosoft.com
auth = managed_identity

[profile mi-client]
organization = contoso.onmicrosoft.com
auth = managed_identity
managed_identity_client_id = 5e0b2f8a-1c1d-4a8e-9d1b-2f3c4d5e6f70
managed_identity_endpoint = http://127.0.0.1:41741/msi/token

[profile mi-resource]
organization = contoso.onmicrosoft.com
auth = managed_identity
managed_identity_resource_id = /subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/exod

[profile mi-object]
organization = contoso.onmicrosoft.com
auth = managed_identity
managed_identity_object_id = 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
environment = O365USGovDoD

[profile token]
delegated_organization = fabrikam.onmicrosoft.com
auth = access_token
access_token_file = /run/exod/token
user_principal_name = admin@contoso.onmicrosoft.com
environment = O365GermanyCloud
""")
    put("conf", "one_profile_minimal.conf", "[profile default]\nauth = device\norganization = contoso.onmicrosoft.com\n")
    put("conf", "comments_crlf.conf", "# comment\r\n[exod]\r\nlog_level = info ; trailing comment\r\n\r\n"
        "[profile a.b_c-1]\r\nauth = device ; x\r\norganization = contoso.onmicrosoft.com\r\nallow_users = alice,  bob ,1001\r\n")
    put("conf", "bad_duplicate_key.conf", "[profile a]\nauth = device\nauth = secret\norganization = c.onmicrosoft.com\n")
    put("conf", "bad_duplicate_profile.conf", "[profile a]\nauth = device\norganization = c.onmicrosoft.com\n"
        "[profile a]\nauth = device\norganization = d.onmicrosoft.com\n")
    put("conf", "bad_range.conf", "[profile a]\nauth = device\norganization = c.onmicrosoft.com\nmax_connections = 65\n")
    put("conf", "bad_syntax.conf", "[exod\nsocket\n")
    put("conf", "no_profile.conf", "[exod]\nsocket = /tmp/x.sock\n")


# ---- cache: <state_dir>/contoso.token files (key as in fuzz_cache.c) ----

def cache():
    base = {"version": 1, "profile": "contoso", "authority": AUTHORITY, "tenant": TENANT,
            "client_id": DEVICE_APP_ID, "upn": "admin@contoso.onmicrosoft.com",
            "refresh_token": "0.ARoAv4j5cvGGr0GRqy180BHbR-refresh.token_value", "saved_at": 1700000000}

    def with_(**kw):
        d = dict(base)
        for k, v in kw.items():
            if v is None:
                d.pop(k, None)
            else:
                d[k] = v
        return js(d)

    put("cache", "valid.token", js(base))
    put("cache", "valid_no_upn.token", with_(upn=None))
    put("cache", "valid_case_insensitive.token", with_(authority=AUTHORITY.upper(), tenant=TENANT.upper()))
    put("cache", "other_tenant.token", with_(tenant="contoso.onmicrosoft.com"))
    put("cache", "version_2.token", with_(version=2))
    put("cache", "version_string.token", with_(version="1"))
    put("cache", "no_refresh_token.token", with_(refresh_token=None))
    put("cache", "control_char_token.token", with_(refresh_token="abc\u001b[2Jdef"))
    put("cache", "long_upn.token", with_(upn="u" * 300 + "@contoso.com"))
    put("cache", "not_object.token", "[1,2,3]")
    put("cache", "empty.token", "")

    # Sealed files (daemon/seal.h) under fuzz_cache.c's key, bytes 00..1f, with fixed nonces.
    key = bytes(range(32))
    put("cache", "sealed.token", seal_cache(js(base), key, "contoso", 1))
    put("cache", "sealed_no_upn.token", seal_cache(with_(upn=None), key, "contoso", 2))
    put("cache", "sealed_other_tenant.token",
        seal_cache(with_(tenant="contoso.onmicrosoft.com"), key, "contoso", 3))
    put("cache", "sealed_not_json.token", seal_cache("[1,2,3]", key, "contoso", 4))
    put("cache", "sealed_for_fabrikam.token", seal_cache(js(base), key, "fabrikam", 5))
    put("cache", "sealed_other_key.token", seal_cache(js(base), bytes(range(1, 33)), "contoso", 6))
    newer = bytearray(seal_cache(js(base), key, "contoso", 7))
    newer[7] = 2
    put("cache", "sealed_version_2.token", bytes(newer))
    put("cache", "sealed_cut_short.token", seal_cache(js(base), key, "contoso", 8)[:40])
    put("cache", "magic_only.token", b"EXODRTC")


def seal_cache(plain, key, profile, n):
    """A sealed cache file as daemon/seal.h describes it; nonce n (for stable files)."""
    key_id = hmac.new(key, b"exod token cache v1 key id", hashlib.sha256).digest()[:8]
    aes = AESGCM(hmac.new(key, b"exod token cache v1 encryption", hashlib.sha256).digest())
    head = b"EXODRTC" + bytes([1]) + key_id
    nonce = n.to_bytes(12, "big")
    return head + nonce + aes.encrypt(nonce, plain.encode(), head + profile.encode())


# ---- params: exoctl argument vectors, one argument per line ----

def params():
    def put_p(fname, *args):
        put("params", fname, "\n".join(args) + "\n")

    put_p("identity_resultsize.args", "-Identity", "alice@contoso.com", "-ResultSize", "Unlimited")
    put_p("switches_and_colon.args", "-Identity", "bob", "-HiddenFromAddressListsEnabled", "-Confirm:$false",
          "-ProhibitSendQuota:49GB")
    put_p("bool_null_int.args", "-A", "$true", "-B", "$FALSE", "-C", "$null", "-D", "42", "-E", "-7", "-F", "007")
    put_p("list_joined.args", "-RecipientTypeDetails", "UserMailbox,", "SharedMailbox,", "RoomMailbox")
    put_p("list_escaped_comma.args", "-DisplayName", "Doe\\, John", "-Tags", "a,b,'c,d'")
    put_p("hashtable.args", "-EmailAddresses", "@{Add='smtp:b@contoso.com','smtp:c@contoso.com';Remove=\"smtp:d@contoso.com\"}")
    put_p("hashtable_nested_values.args", "-AdvancedSettings", "@{color=#FF0000; size=3; on=$true; none=$null}")
    put_p("params_merge.args", "--params", js({"Identity": "x", "Nested": {"a": [1, 2]}}), "-Identity", "y")
    put_p("params_equals.args", "--params=" + js({"Filter": "Name -like 'a*'"}))
    put_p("bad_value_without_name.args", "alice")
    put_p("bad_duplicate.args", "-Identity", "a", "-Identity", "b")
    put_p("bad_unknown_option.args", "--force")
    put("params", "nul_separated.args", b"-Identity\0alice\0-Quota\0\0")


# ---- conn: what exod sends back, line by line (doc/PROTOCOL.md) ----

def conn():
    put("conn", "run_records_warning_done.ndjson", "\n".join([
        js({"id": "7", "type": "record", "data": mailbox(1)}),
        js({"id": "7", "type": "warning", "message": "The command completed successfully but no settings have been modified."}),
        js({"id": "7", "type": "record", "data": "a string record"}),
        js({"id": "7", "type": "done", "count": 2, "ms": 812.5}),
    ]) + "\n")
    put("conn", "error_upstream.ndjson", js({"id": "7", "type": "error", "error": {
        "code": "Upstream", "message": "Couldn't find object \"ghost\".", "upstream_code": "BadRequest",
        "http_status": 400}}) + "\r\n")
    put("conn", "login_device_code.ndjson", "\n".join([
        js({"id": "l", "type": "login", "verification_uri": "https://microsoft.com/devicelogin",
            "user_code": "ABCD-EFGH", "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.",
            "expires_in": 900}),
        js({"id": "l", "type": "done", "identity": "admin@contoso.onmicrosoft.com"})]) + "\n")
    put("conn", "status.ndjson", js({"type": "done", "profiles": [{
        "name": "contoso", "state": "connected", "auth": "certificate", "identity": APP_ID,
        "organization": "contoso.onmicrosoft.com", "delegated_organization": None,
        "environment": "O365Default", "token_expires_in": 3312, "in_flight": 0, "queued": 0,
        "max_connections": 3, "requests": 12, "failures": 0, "last_error": None}]}) + "\n")
    put("conn", "blank_lines_then_answer.ndjson", "\n\n\r\n" + js({"type": "pong"}) + "\n")
    put("conn", "bad_no_type.ndjson", '{"id":"1"}\n')
    put("conn", "bad_not_json.ndjson", "HTTP/1.1 400 Bad Request\r\n")
    put("conn", "bad_unterminated.ndjson", '{"type":"record","data":{"a":1')


# ---- output: first byte = format (bits 0-1: table, json, ndjson, csv; with bit 5: list,
#      tsv, yaml, auto), width (bits 2-3: none, 20, 80, 200), fixed columns (bit 4), pretty
#      json (bit 6), --select (bit 7); then one record per line ----

def output():
    recs = "\n".join(js(mailbox(i)) for i in range(1, 4)) + "\n"
    for fmt, fname in ((0, "table"), (1, "json"), (2, "ndjson"), (3, "csv")):
        put("output", "mailboxes_%s_w80.ndjson" % fname, bytes([fmt | (2 << 2)]) + recs.encode())
    put("output", "table_narrow_fixed_columns.ndjson", bytes([0 | (1 << 2) | 0x10]) + recs.encode())
    put("output", "table_scalars_and_missing.ndjson", bytes([0]) + b'"just a string"\n42\nnot json\n{"Name":null}\n')
    put("output", "table_control_chars.ndjson", bytes([0 | (3 << 2)]) +
        (js({"Name": "evil\u001b[2J\u0007", "Notes": "line1\nline2\ttab\u007f"}) + "\n").encode())
    put("output", "csv_quotes_commas.ndjson", bytes([3]) +
        (js({"Name": "Doe, \"John\"", "Multi": "a\r\nb", "List": [1, "x"], "Obj": {"k": "v"}}) + "\n").encode())
    put("output", "json_nested.ndjson", bytes([1]) + b'{"a":{"b":[1,{"c":[true,false,null]}]}}\n[]\n{}\n')
    for fmt, fname in ((0, "list"), (1, "tsv"), (2, "yaml"), (3, "auto")):
        put("output", "mailboxes_%s_w80.ndjson" % fname, bytes([0x20 | fmt | (2 << 2)]) + recs.encode())
    put("output", "json_pretty_select.ndjson", bytes([1 | 0x40 | 0x80]) + recs.encode())
    wide = {"Name": "\u5c71\u7530\u592a\u90ce", "DisplayName": "\U0001F389 Party \u0080\u009b2J",
            "Notes": "a\tb\\c\r\nd", "Yaml": ["yes", "0755", "", None, {"k": 1.5e3}]}
    for fmt in (0, 0x20, 0x21, 0x22):
        put("output", "wide_chars_fmt%02x_w20.ndjson" % fmt, bytes([fmt | (1 << 2)]) + (js(wide) + "\n").encode())
    put("output", "auto_one_record_w20.ndjson", bytes([0x23 | (1 << 2)]) + (js(wide) + "\n").encode())


# ---- regressions: crash inputs of bugs now fixed, replayed by make fuzz-replay ----

def regressions():
    def put_r(name, fname, data):
        d = os.path.join(HERE, "regressions", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)

    # 300,000 nested arrays (600 KB, under HTTP_MAX_BUFFERED): yajl_tree_free recursed once
    # per level and overflowed an 8 MiB stack.  jtree refuses nesting past JTREE_MAX_DEPTH.
    deep = b"[" * 300000 + b"]" * 300000
    put_r("oauth", "stack_overflow_yajl_tree_free_300k_nested_arrays.json", bytes([1]) + deep)
    put_r("mi", "stack_overflow_yajl_tree_free_300k_nested_arrays.json", bytes([2 << 1]) + deep)
    # A record key with terminal escapes became a table column header unfiltered.
    put_r("output", "table_header_escape_sequence.ndjson", bytes([0 | (2 << 2)]) +
          (js({"Name": "x", "\u001b]0;owned\u0007\u001b[2JIdentity": "y"}) + "\n").encode())
    # The two crashes of issue 7: a NUL inside a request line (strndup stopped at it, then
    # len bytes were wiped), and ~130,000 short lines behind a request (recursion).
    put_r("server", "nul_in_id.txt", b'{"id":"a\0b","op":"ping"}\n')
    put_r("wire", "nul_in_id.txt", b'{"id":"a\0b","op":"ping"}\n')
    put_r("server", "many_short_lines.txt", b'{"op":"ping"}\n' * 20000)


# ---- wire, server: what a local client sends (doc/PROTOCOL.md) ----

REQUESTS = [
    {"id": "1", "op": "ping"},
    {"id": 7, "op": "status"},
    {"op": "status", "profile": "contoso"},
    {"id": "m", "op": "metrics", "format": "prometheus"},
    {"op": "metrics", "format": "json"},
    {"id": "r", "op": "run", "profile": "contoso", "cmdlet": "Get-Mailbox",
     "params": {"ResultSize": 10, "Filter": "Name -like 'a*'", "Anr": ["x", "y"],
                "Obj": {"Add": "z"}}},
    {"id": "l", "op": "login", "profile": "admin", "password": "hunter2"},
    {"op": "logout", "profile": "admin"},
    {"op": "refresh"},
    {"op": "cancel"},
    {"id": "\u00e9\u4e2d\U0001f600", "op": "ping"},
]


def wire():
    for i, r in enumerate(REQUESTS):
        put("wire", "request_%02d_%s.txt" % (i, r["op"]), js(r) + "\n")
    put("wire", "pipelined.txt", "".join(js(r) + "\r\n" for r in REQUESTS))
    put("wire", "bad_forms.txt", b'[1,2]\n{"op":5}\n{"id":{},"op":"ping"}\n/* x */{"op":"ping"}\n'
                                 b'{"op":"ping"} {}\n\n\n{"id":"\xc0\xaf","op":"ping"}\n'
                                 b'{"op":"pi\\u0000ng"}\n{"id":"' + b"x" * 300 + b'","op":"ping"}\n')
    put("wire", "no_newline_at_end.txt", js({"op": "ping"}))


def server():
    put("server", "session.txt", "".join(js(r) + "\n" for r in REQUESTS))
    put("server", "cancel_then_ping.txt", '{"op":"run","cmdlet":"Get-Mailbox"}\n{"op":"cancel"}\n'
                                          '{"op":"ping"}\n')
    put("server", "garbage.txt", b'\xff\xfe{"op":\n\0\n{"op":"nope"}\n{"op":"ping","id":1e999}\n')
    put("server", "unfinished_last_line.txt", '{"op":"ping"}\n{"op":"stat')


# ---- device: Entra's devicecode answers (entra-auth.md §2) ----

def device():
    put("device", "ok.json", js({
        "user_code": "ABCD-EFGH", "device_code": "DAQABAAEAAAD--DLA3VO7QrddgJg7WevrAgAAAAAAA",
        "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 5,
        "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
                   "and enter the code ABCD-EFGH to authenticate."}))
    put("device", "strings_url.json", js({
        "user_code": "ABCD-EFGH", "device_code": "abc", "verification_url": "https://x",
        "expires_in": "900", "interval": "0.5"}))
    put("device", "error.json", js({"error": "invalid_client", "error_codes": [7000218],
                                    "error_description": "AADSTS7000218: ..."}))
    put("device", "bad_code.json", js({"user_code": "A", "device_code": "has space",
                                       "verification_uri": "https://x"}))


# ---- jtree: strict JSON trees ----

def jtree():
    put("jtree", "object.json", js({"a": [1, -2.5e-3, "s\u00e9", True, False, None, {"b": {}}]}))
    put("jtree", "numbers.json", b'[0,-0,1e308,1e999,123456789012345678901234567890,-1.5E+2]')
    put("jtree", "escapes.json", b'["\\u0041\\ud83d\\ude00\\n\\t\\"\\\\\\/"]')
    put("jtree", "bad_utf8.json", b'["\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff"]')
    put("jtree", "deep.json", b"[" * 64 + b"]" * 64)
    put("jtree", "too_deep.json", b"[" * 65 + b"]" * 65)


# ---- http: Retry-After values and next-page URLs, NUL-separated ----

def http():
    put("http", "retry_after.txt", b"\0".join([b"120", b"99999999", b"18446744073709551616123",
                                                b"Wed, 21 Oct 2015 07:28:00 GMT", b" 5 ", b"-1"]))
    base = b"https://outlook.office365.com/adminapi/beta/contoso/InvokeCommand"
    put("http", "next_links.txt", b"\0".join([
        base + b"?$skiptoken=x", b"https://OUTLOOK.office365.com:443/x", b"http://outlook.office365.com/x",
        b"https://outlook.office365.com:444/x", b"https://u:p@outlook.office365.com/x",
        b"https://evil.example/x", b"/relative", b"ftp://outlook.office365.com/x"]))


def main():
    if not os.path.isdir(HERE):
        sys.exit("run from anywhere; %s is missing" % HERE)
    exo_page()
    exo_error()
    exo_body()
    oauth()
    mi()
    jwt_corpus()
    cert()
    conf()
    cache()
    params()
    conn()
    output()
    wire()
    server()
    device()
    jtree()
    http()
    regressions()


if __name__ == "__main__":
    main()
