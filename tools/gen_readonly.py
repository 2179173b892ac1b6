#!/usr/bin/python3
"""Writes daemon/readonly_cmdlets.inc: the cmdlets exod treats as read-only.

exod lets read-only users run these cmdlets and nothing else, and retries
only these after a transient failure.  A verb is no guide to what a cmdlet
does (Search-Mailbox -DeleteContent deleted mail, Test-Message sends mail,
Invoke-Provisioning*Diagnostic repairs objects), so the list names cmdlets
one by one:

- every Get- cmdlet of the catalogue, less GET_EXCLUDED: the Get- cmdlets
  with a parameter that can send mail or write;
- ALLOWED: cmdlets of other verbs, vetted one by one against Microsoft's
  reference pages, that only read.

NOT_ALLOWED records the notable cmdlets of read-sounding verbs left out and
why, so that nobody adds them back by the verb.  Anything not listed, and
any cmdlet the catalogue does not know, is not read-only.

Usage, from the repository root (standard library only):
    /usr/bin/python3 tools/gen_readonly.py [CATALOGUE] [--out FILE] [--check]
CATALOGUE defaults to ../shared/reference/cmdlets/cmdlets.json from the
repository root.  --check writes nothing and fails if FILE is out of date.
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generated import write_or_check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CATALOGUE = os.path.join(ROOT, "..", "shared", "reference", "cmdlets", "cmdlets.json")
DEFAULT_OUT = os.path.join(ROOT, "daemon", "readonly_cmdlets.inc")
COMMAND = "/usr/bin/python3 tools/gen_readonly.py"

# Get- cmdlets that can change something, with the parameter that does it.
# Found by screening the parameter names of every Get- cmdlet in the
# catalogue for sending, writing, logging and fixing words and reading the
# pages of the hits; the other parameters only filter or shape the output.
# (Get-CalendarDiagnosticLog -LogLocation writes .msg files, but works only
# in Exchange 2010 and 2013, so that cmdlet stays.)
GET_EXCLUDED = {
    "Get-ActiveSyncDeviceStatistics":
        "-GetMailboxLog mails the device logs to -NotificationEmailAddresses",
    "Get-CASMailbox":
        "-RecalculateHasActiveSyncDevicePartnership rewrites that property when it is wrong",
    "Get-EXOCasMailbox":
        "-GetImapProtocolLog/-GetPopProtocolLog/-SendLogsTo (internal; in Exchange 2010 they mailed protocol logs)",
    "Get-EXOMobileDeviceStatistics":
        "-GetMailboxLog mails the device logs to -NotificationEmailAddresses",
    "Get-MobileDeviceStatistics":
        "-GetMailboxLog mails the device logs to -NotificationEmailAddresses",
}

# Cmdlets of other verbs that only read, each with what it does (from its
# reference page).
ALLOWED = {
    "Check-PurviewConfig":
        "runs Purview (MIP, DLP, encryption) diagnostic test cases and reports their results",
    "Export-ActivityExplorerData":
        "returns Activity explorer records, paged with -PageCookie, to the caller",
    "Export-ContentExplorerData":
        "returns Content explorer items for a sensitive-information or label tag to the caller",
    "Export-FilePlanProperty":
        "returns the records-management file plan properties to the caller",
    "Export-MailboxDiagnosticLogs":
        "returns a mailbox's diagnostic logs or extended properties to the caller",
    "Export-PurviewConfig":
        "returns Purview diagnostic configuration as a ZIP byte array to the caller",
    "Export-TransportRuleCollection":
        "returns the mail flow rules as XML bytes to the caller",
    "Search-MailboxAuditLog":
        "searches mailbox audit log entries and returns them",
    "Search-MessageTrackingReport":
        "finds message tracking report ids for Get-MessageTrackingReport",
    "Search-UnifiedAuditLog":
        "searches the unified audit log and returns the records (paging is a server-side session only)",
    "Test-ApplicationAccessPolicy":
        "reports whether an application access policy lets an app reach a mailbox",
    "Test-ArchiveConnectivity":
        "logs on to a user's archive and reports whether it works (optionally its MRM tags)",
    "Test-DataClassification":
        "reports the sensitive information types found in text the caller supplies",
    "Test-IRMConfiguration":
        "checks the connection to RMS Online and validates the trusted publishing domain",
    "Test-MAPIConnectivity":
        "logs on to a mailbox and lists its Inbox to show the store works",
    "Test-OrganizationRelationship":
        "checks an organization relationship's configuration; the docs say it runs no sharing operation",
    "Test-ServicePrincipalAuthorization":
        "reports the RBAC-for-applications roles and scopes of a service principal",
    "Test-TextExtraction":
        "returns the text extracted from a message file the caller supplies",
    "Validate-RetentionRuleQuery":
        "checks the syntax of a KQL query for retention rules",
}

# Notable cmdlets left out although their verb sounds like reading.  Only a
# record: leaving them out needs nothing, as unlisted cmdlets are refused.
NOT_ALLOWED = {
    "Search-Mailbox":
        "-DeleteContent deletes mail, and it copies results into a target mailbox (retired; not in the catalogue)",
    "Search-AdminAuditLog":
        "would read only, but is retired and not in the catalogue; Search-UnifiedAuditLog replaces it",
    "Test-Message":
        "sends the report to -SendReportTo and runs DLP actions and notifications on the test message",
    "Validate-OutboundConnector":
        "sends test messages to -Recipients through the connector",
    "Test-OAuthConnectivity":
        "sends OAuth-authenticated requests to a caller-chosen -TargetUri; -ReloadConfig reloads configuration",
    "Test-MigrationServerAvailability":
        "makes the service connect and sign in to any server the caller names, with the caller's credentials",
    "Test-M365DataAtRestEncryptionPolicy":
        "its page does not say what testing the policy does; left out until that is known",
    "Export-MigrationReport":
        "internal to the migration service (writes to a -CsvStream); the docs say admins don't run it",
    "Export-DlpPolicyCollection":
        "functional only in on-premises Exchange, so there is nothing to gain",
    "Export-QuarantineMessage":
        "hands out whole quarantined messages and files (DLP quarantine included); kept for full access",
    "Preview-QuarantineMessage":
        "hands out quarantined message bodies, as Export-QuarantineMessage does; kept for full access",
    "Compare-TextMessagingVerificationCode":
        "completes the SMS verification of a text messaging account",
    "Invoke-ProvisioningAcceptedDomainDiagnostic":
        "validates and repairs accepted domain configuration",
    "Invoke-ProvisioningCompanyObjectDiagnostic":
        "validates and fixes tenant information and service plans",
    "Invoke-ProvisioningRecipientDiagnostic":
        "repairs recipients by resubmitting or correcting them",
    "Invoke-ProvisioningVerifyRbacDiagnostic":
        "analyzes and repairs RBAC configuration",
    "Start-HistoricalSearch":
        "starts a server-side report job that can mail -NotifyAddress",
}

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9]+$")


def fail(msg):
    sys.exit("gen_readonly: " + msg)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail("cannot read the catalogue %s: %s" % (path, e))
    if not isinstance(data.get("source"), str) or not isinstance(data.get("cmdlets"), dict):
        fail("%s: no \"source\" string or \"cmdlets\" object" % path)
    return data["source"], set(data["cmdlets"])


def check_tables(known):
    for name in GET_EXCLUDED:
        if not name.startswith("Get-") or name not in known:
            fail("GET_EXCLUDED names %s, which is not a Get- cmdlet of the catalogue" % name)
    for name in ALLOWED:
        if name not in known:
            fail("ALLOWED names %s, which the catalogue does not have" % name)
        if name.startswith("Get-"):
            fail("ALLOWED names %s: Get- cmdlets come from the catalogue" % name)
        if name in NOT_ALLOWED:
            fail("%s is both in ALLOWED and NOT_ALLOWED" % name)


def select(known):
    names = [n for n in known if n.startswith("Get-") and n not in GET_EXCLUDED]
    names += list(ALLOWED)
    for name in names:
        if not NAME.match(name):
            fail("%r is not a plain Verb-Noun name" % name)
    # The order of strcasecmp: the names are ASCII, so str.lower is its folding.
    names.sort(key=lambda n: (n.lower(), n))
    for a, b in zip(names, names[1:]):
        if a.lower() == b.lower():
            fail("%s and %s differ only in case" % (a, b))
    return names


def render(source, names):
    ngets = sum(1 for n in names if n.startswith("Get-"))
    head = [
        "/*",
        " * Generated by tools/gen_readonly.py: do not edit.",
        " * Catalogue: %s" % source,
        " * Regenerate from the repository root with:",
        " *   %s" % COMMAND,
        " * %d cmdlets: %d Get- cmdlets (all but %d that can write or send mail)"
        % (len(names), ngets, len(GET_EXCLUDED)),
        " * and %d of other verbs vetted one by one.  Sorted in strcasecmp order." % len(ALLOWED),
        " */",
    ]
    return "\n".join(head + ['"%s",' % n for n in names]) + "\n"


def main():
    ap = argparse.ArgumentParser(description="Write daemon/readonly_cmdlets.inc.")
    ap.add_argument("catalogue", nargs="?", default=DEFAULT_CATALOGUE)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="fail if --out is not up to date")
    args = ap.parse_args()
    source, known = load(args.catalogue)
    check_tables(known)
    text = render(source, select(known))
    write_or_check(args.out, text, COMMAND, args.check)


if __name__ == "__main__":
    main()
