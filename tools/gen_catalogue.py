#!/usr/bin/python3
"""Writes common/catalogue.inc: the cmdlet catalogue compiled into exod and exoctl.

The parameter binder (common/binder.c) checks parameter names, positions,
parameter sets and value types against it before anything is sent.  The
data comes from ../shared/reference/cmdlets/cmdlets.json (see its
README.md): every cmdlet Microsoft documents for Exchange Online, Security &
Compliance and EOP, with its parameters and parameter sets.

Layout (the structs are in common/catalogue.c, which includes this file):

- catalogue_pool: every distinct string once, NUL-terminated; a string that
  is the tail of another ("Identity" of "MailboxIdentity") points into it.
- catalogue_strings: string id -> offset in the pool (id 0 is "").
- catalogue_types: one row per distinct (type string, kind, flags, range):
  the kind says how the binder treats a value (see KINDS below).
- catalogue_alias_lists: lists of alias string ids, each ended by 0;
  index 0 is the empty list.
- catalogue_params: per cmdlet, its parameters in the page's order: name,
  type row, alias list, services.
- catalogue_members: per parameter set, its members packed in 16 bits:
  bits 0-7 the parameter's index in its cmdlet, bits 8-13 its position + 1
  (0: named only), bit 14 required.
- catalogue_sets, catalogue_cmdlets: rows pointing into the arrays above;
  cmdlets sorted by their ASCII-lowercased name (strcasecmp order), for a
  binary search.

The kind of a parameter (decided here, once, from the documented type):

- SWITCH: SwitchParameter.
- BOOLEAN: Boolean, System.Boolean.
- INTEGER: Int16/32/64, UInt16/32/64 (with or without System.), with their range.
- UNLIMITED_INT: Exchange's Unlimited<T> where T counts something (UnlimitedInt,
  Unlimited`1[System.UInt32], and the "Unlimited" parameters named in
  UNLIMITED_COUNTS): a whole number 0..4294967295 or the word Unlimited.
- UNLIMITED: the other Unlimited parameters, whose T the docs do not name
  (sizes such as "50 GB", time spans such as "30.00:00:00"): the word
  Unlimited or text, sent as a string.
- SECURE: SecureString (refused by the binder: see tools/README-binder.md).
- HASHTABLE: Hashtable, PswsHashtable, System.Collections.Hashtable.
- IDENTITY: ...IdParameter and IDENTITY_TYPES: always text.
- STRING: String and TEXT_TYPES (addresses, domains, dates, sizes, GUIDs...):
  always text, never a number or a Boolean.
- OTHER: everything else (enums, PSCredential, Byte[], Double...): typed by
  exoctl's grammar as before ($true, 12, text) and left to the service.

Flags: MULTI (the catalogue's multi_valued, but for Byte[], which is one
binary value, not a list) and DELTA (a MultiValuedProperty or ...Collection,
which also takes PowerShell's @{Add=...;Remove=...}).

Usage, from the repository root (standard library only):
    /usr/bin/python3 tools/gen_catalogue.py [CATALOGUE] [--out FILE] [--check]
CATALOGUE defaults to ../shared/reference/cmdlets/cmdlets.json from the
repository root.  --check writes nothing and fails if FILE is out of date.
The output depends only on the catalogue: running it twice gives the same bytes.
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
DEFAULT_OUT = os.path.join(ROOT, "common", "catalogue.inc")
COMMAND = "/usr/bin/python3 tools/gen_catalogue.py"

SERVICES = {
    "Exchange Online": 1,
    "Security & Compliance": 2,
    "Exchange Online Protection": 4,
}

INT_RANGES = {
    "Int16": "I16", "Int32": "I32", "Int64": "I64",
    "UInt16": "U16", "UInt32": "U32", "UInt64": "U64",
}

BOOLEAN_TYPES = {"Boolean", "bool"}
HASHTABLE_TYPES = {"Hashtable", "PswsHashtable"}

# Types that hold text on the wire: a value for them is always a JSON string
# (-Identity 12345 and -DisplayName 2024 stay text, $true becomes "True").
TEXT_TYPES = {
    "String", "string", "SmtpAddress", "Fqdn", "ProxyAddress", "SmtpDomain",
    "SmtpDomainWithSubdomains", "WindowsLiveId", "Uri", "HeaderName", "HeaderValue",
    "DisclaimerText", "RejectText", "EventLogText", "SubjectPrefix", "Word", "Pattern",
    "E164Number", "Guid", "DateTime", "ExDateTime", "DateTimeOffset", "TimeSpan",
    "EnhancedTimeSpan", "ByteQuantifiedSize", "CultureInfo",
}

# Identities that do not end in IdParameter.
IDENTITY_TYPES = {"QuarantineMessageIdentity", "MessageTrackingReportId"}

# "Unlimited" parameters whose T is a whole number (a count), from their
# reference pages; the others are sizes or time spans and stay text.
UNLIMITED_COUNTS = {
    "ResultSize", "PageResultSize", "RecipientLimits", "MaxRecipientEnvelopeLimit",
    "MaxConcurrentMigrations", "MaxConcurrentIncrementalSyncs",
    "MaxDevicePasswordFailedAttempts", "MaxPasswordFailedAttempts", "LineWrapSize",
}
UNLIMITED_INT_TYPES = {"UnlimitedInt", "Microsoft.Exchange.Management.RestApiClient.Unlimited`1[System.UInt32]"}

# Packing limits of the C layout (common/catalogue.c); the script fails when
# a catalogue outgrows them, rather than writing data that wraps.
MAX_PARAMS = 255        # parameters of one cmdlet (uint8_t, member bits 0-7)
MAX_SETS = 32           # sets of one cmdlet (the binder's uint32_t masks)
MAX_MEMBERS = 255       # members of one set (uint8_t)
MAX_POSITION = 62       # member bits 8-13 hold position + 1
MAX_INDEX = 65535       # uint16_t indexes and string ids

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)+$")
PARAM = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def fail(msg):
    sys.exit("gen_catalogue: " + msg)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail("cannot read the catalogue %s: %s" % (path, e))
    if not isinstance(data.get("source"), str) or not isinstance(data.get("cmdlets"), dict):
        fail("%s: no \"source\" string or \"cmdlets\" object" % path)
    return data["source"], data["cmdlets"]


def base_type(t):
    """The element type without [] and namespaces: System.Int32[] -> Int32."""
    if t.endswith("[]"):
        t = t[:-2]
    if "`" not in t and "[" not in t:
        t = t.rsplit(".", 1)[-1]
    return t


def classify(pname, p):
    """(kind, range, flags) of one parameter; see the module docstring."""
    t = p["type"]
    b = base_type(t)
    multi = p["multi_valued"] and b != "Byte"
    flags = []
    if multi:
        flags.append("CATALOGUE_MULTI")
        if not t.endswith("[]"):
            flags.append("CATALOGUE_DELTA")
    rng = "NONE"
    if p["switch"]:
        kind = "SWITCH"
    elif p["secure_string"]:
        kind = "SECURE"
    elif b in BOOLEAN_TYPES:
        kind = "BOOLEAN"
    elif b in INT_RANGES:
        kind, rng = "INTEGER", INT_RANGES[b]
    elif t in UNLIMITED_INT_TYPES or (t == "Unlimited" and pname in UNLIMITED_COUNTS):
        kind, rng = "UNLIMITED_INT", "U32"
    elif t == "Unlimited":
        kind = "UNLIMITED"
    elif b in HASHTABLE_TYPES:
        kind = "HASHTABLE"
    elif b.endswith("IdParameter") or b in IDENTITY_TYPES:
        kind = "IDENTITY"
    elif b in TEXT_TYPES:
        kind = "STRING"
    else:
        kind = "OTHER"
    return "CATALOGUE_" + kind, "CATALOGUE_RANGE_" + rng, " | ".join(flags) or "0"


def c_string(s):
    if not all(0x20 <= ord(ch) < 0x7f for ch in s):
        fail("%r is not printable ASCII" % s)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '\\0"'


class Strings:
    """The string pool: ids in sorted order, tails shared."""

    def __init__(self, strings):
        ordered = [""] + sorted(set(strings) - {""})
        if len(ordered) > MAX_INDEX:
            fail("%d strings: more than a uint16_t id holds" % len(ordered))
        self.ids = {s: i for i, s in enumerate(ordered)}
        self.ordered = ordered
        self._layout()

    def _layout(self):
        # A string that ends another one is stored as that one's tail.
        by_tail = sorted(self.ordered[1:], key=lambda s: (s[::-1], s))
        host = {}
        for i in range(len(by_tail) - 1, -1, -1):
            s = by_tail[i]
            if i + 1 < len(by_tail) and by_tail[i + 1].endswith(s):
                host[s] = host[by_tail[i + 1]]
            else:
                host[s] = s
        self.stored = [s for s in self.ordered if host.get(s, s) == s]
        self.offset = {}
        off = 0
        for s in self.stored:
            self.offset[s] = off
            off += len(s) + 1
        self.size = off
        for s in self.ordered:
            h = host.get(s, s)
            self.offset[s] = self.offset[h] + len(h) - len(s)

    def id(self, s):
        return self.ids[s]


def cmdlet_order(cmdlets):
    names = sorted(cmdlets, key=lambda n: (n.lower(), n))
    for n in names:
        if not NAME.match(n):
            fail("%r is not a plain Verb-Noun name" % n)
    for a, b in zip(names, names[1:]):
        if a.lower() == b.lower():
            fail("%s and %s differ only in case" % (a, b))
    return names


def services(applies):
    mask = 0
    for s in applies:
        if s not in SERVICES:
            fail("unknown service %r" % s)
        mask |= SERVICES[s]
    return mask


# PowerShell's own aliases of its ShouldProcess parameters: where a page
# gives one of them to another parameter too (Invoke-HoldRemovalAction
# -SharePointLocation "wi", a copy-and-paste slip), the other claim is dropped.
SHOULD_PROCESS_ALIASES = {"wi": "WhatIf", "cf": "Confirm"}


def check_params(cname, params, dropped):
    """Checks names; returns each parameter's aliases less those that clash."""
    if len(params) > MAX_PARAMS:
        fail("%s has %d parameters (at most %d)" % (cname, len(params), MAX_PARAMS))
    names = {}
    for pname in params:
        if not PARAM.match(pname):
            fail("%s: %r is not a parameter name" % (cname, pname))
        if pname.lower() in names:
            fail("%s: %s and %s differ only in case" % (cname, names[pname.lower()], pname))
        names[pname.lower()] = pname
    claims = {}
    for pname, p in params.items():
        for a in p["aliases"]:
            if not PARAM.match(a):
                fail("%s -%s: %r is not an alias" % (cname, pname, a))
            claims.setdefault(a.lower(), []).append(pname)
    kept = {}
    for pname, p in params.items():
        kept[pname] = []
        for a in p["aliases"]:
            owners = claims[a.lower()]
            owner = SHOULD_PROCESS_ALIASES.get(a.lower())
            ok = a.lower() not in names and (len(owners) == 1 or owner == pname)
            if owner is not None and owner in params and owner != pname:
                ok = False
            if ok:
                kept[pname].append(a)
            else:
                dropped.append("%s -%s alias %s" % (cname, pname, a))
    return kept


def member_bits(cname, index, m):
    pos = m["position"]
    if pos is not None and not 0 <= pos <= MAX_POSITION:
        fail("%s -%s: position %r out of range" % (cname, m["name"], pos))
    return index | ((0 if pos is None else pos + 1) << 8) | ((1 if m["required"] else 0) << 14)


class Tables:
    def __init__(self, cmdlets):
        self.names = cmdlet_order(cmdlets)
        self.cmdlets = cmdlets
        self.types = {}         # (type sid, kind, range, flags) -> row
        self.alias_lists = {(): 0}
        self.alias_flat = [0]
        self.params = []        # (cmdlet, name sid, type row, alias index, services)
        self.members = []       # (cmdlet, set, packed)
        self.sets = []          # (name sid, first, count, default)
        self.rows = []          # (name sid, first param, first set, nparams, nsets, services)
        self.dropped = []       # aliases left out, for the header
        strings = set()
        for n in self.names:
            c = cmdlets[n]
            strings.add(n)
            for p_name, p in c["parameters"].items():
                strings.update([p_name, p["type"]] + p["aliases"])
            strings.update(s["name"] for s in c["parameter_sets"])
        self.pool = Strings(strings)
        for n in self.names:
            self._cmdlet(n, cmdlets[n])
        for what, count in (("parameters", len(self.params)), ("members", len(self.members)),
                            ("sets", len(self.sets)), ("types", len(self.types)),
                            ("alias entries", len(self.alias_flat))):
            if count > MAX_INDEX:
                fail("%d %s: more than a uint16_t index holds" % (count, what))

    def _type_row(self, pname, p):
        key = (self.pool.id(p["type"]),) + classify(pname, p)
        if key not in self.types:
            self.types[key] = len(self.types)
        return self.types[key]

    def _aliases(self, aliases):
        key = tuple(self.pool.id(a) for a in aliases)
        if key not in self.alias_lists:
            self.alias_lists[key] = len(self.alias_flat)
            self.alias_flat.extend(list(key) + [0])
        return self.alias_lists[key]

    def _cmdlet(self, n, c):
        params = c["parameters"]
        aliases = check_params(n, params, self.dropped)
        index = {p: i for i, p in enumerate(params)}
        first_param = len(self.params)
        for p_name, p in params.items():
            self.params.append((n, self.pool.id(p_name), self._type_row(p_name, p),
                                self._aliases(aliases[p_name]), services(p["applies_to"])))
        sets = c["parameter_sets"]
        if len(sets) > MAX_SETS:
            fail("%s has %d parameter sets (at most %d)" % (n, len(sets), MAX_SETS))
        first_set = len(self.sets)
        for s in sets:
            if len(s["parameters"]) > MAX_MEMBERS:
                fail("%s set %s has %d members" % (n, s["name"], len(s["parameters"])))
            first = len(self.members)
            for m in s["parameters"]:
                if m["name"] not in index:
                    fail("%s set %s names -%s, which it does not list" % (n, s["name"], m["name"]))
                self.members.append((n, s["name"], member_bits(n, index[m["name"]], m)))
            self.sets.append((self.pool.id(s["name"]), first, len(s["parameters"]),
                              1 if s["default"] else 0))
        self.rows.append((self.pool.id(n), first_param, first_set, len(params), len(sets),
                          services(c["applies_to"])))


def wrap(items, width=100, indent="\t", sep=","):
    """Items, each followed by sep, packed into lines of at most width columns."""
    lines, line = [], indent
    for it in items:
        piece = it + sep
        if len(line) + len(piece) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def render(source, t):
    out = [
        "/*",
        " * Generated by tools/gen_catalogue.py: do not edit.",
        " * Catalogue: %s" % source,
        " * Regenerate from the repository root with:",
        " *   %s" % COMMAND,
        " * %d cmdlets, %d parameters, %d parameter sets, %d set members, %d type rows,"
        % (len(t.rows), len(t.params), len(t.sets), len(t.members), len(t.types)),
        " * %d strings in a %d-byte pool.  Layout: tools/gen_catalogue.py." % (
            len(t.pool.ordered), t.pool.size),
    ]
    if t.dropped:
        out.append(" * Aliases left out because another parameter has them too: %s."
                   % "; ".join(t.dropped))
    out += [
        " */",
        "",
        '#define CATALOGUE_SOURCE "%s"' % source.replace('"', ""),
        "",
        "static const char catalogue_pool[] =",
    ]
    out += wrap((c_string(s) for s in t.pool.stored), sep="")
    out += ["\t;", "", "static const uint32_t catalogue_strings[] = {"]
    out += wrap(str(t.pool.offset[s]) for s in t.pool.ordered)
    out += ["};", "", "/* type string id, kind, range, flags */",
            "static const struct catalogue_type catalogue_types[] = {"]
    for key, _ in sorted(t.types.items(), key=lambda kv: kv[1]):
        out.append("\t{ %d, %s, %s, %s }," % key)
    out += ["};", "", "static const uint16_t catalogue_alias_lists[] = {"]
    out += wrap(str(x) for x in t.alias_flat)
    out += ["};", "", "/* name string id, type row, alias list, services */",
            "static const struct catalogue_param catalogue_params[] = {"]
    out += wrap("{%d,%d,%d,%d}" % p[1:] for p in t.params)
    out += ["};", "", "/* index | (position + 1) << 8 | required << 14 */",
            "static const uint16_t catalogue_members[] = {"]
    out += wrap(str(m[2]) for m in t.members)
    out += ["};", "", "/* name string id, first member, members, default */",
            "static const struct catalogue_set catalogue_sets[] = {"]
    out += wrap("{%d,%d,%d,%d}" % s for s in t.sets)
    out += ["};", "",
            "/* name string id, first parameter, first set, parameters, sets, services */",
            "static const struct catalogue_cmdlet catalogue_cmdlets[] = {"]
    out += wrap("{%d,%d,%d,%d,%d,%d}" % r for r in t.rows)
    out += ["};"]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description="Write common/catalogue.inc.")
    ap.add_argument("catalogue", nargs="?", default=DEFAULT_CATALOGUE)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="fail if --out is not up to date")
    args = ap.parse_args()
    source, cmdlets = load(args.catalogue)
    text = render(source, Tables(cmdlets))
    write_or_check(args.out, text, COMMAND, args.check)


if __name__ == "__main__":
    main()
