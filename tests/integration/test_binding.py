"""Parameters bound as PowerShell binds them, in exoctl and in exod, checked on the body the fake receives."""

import pytest


def sent(fake):
    """(the number of InvokeCommand requests so far, the last CmdletInput)."""
    c = fake.counters()
    body = c["last_invoke_body"]
    return c["invoke_requests"], body["CmdletInput"] if body else None


def bound(exod, fake, *args):
    """Runs exoctl run ARGS and returns (CmdletName, Parameters) as the service got them."""
    before, _ = sent(fake)
    r = exod.exoctl("-o", "json", "run", *args)
    after, ci = sent(fake)
    assert after > before, "nothing was sent: %s" % r.stderr
    return ci["CmdletName"], ci["Parameters"]


def refused(exod, fake, *args):
    """Runs exoctl run ARGS, which must fail as a usage error before anything is sent; its message."""
    before, _ = sent(fake)
    r = exod.exoctl("run", *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert sent(fake)[0] == before
    return r.stderr


def via_socket(exod, fake, cmdlet, params):
    before, _ = sent(fake)
    lines = exod.request({"op": "run", "cmdlet": cmdlet, "params": params})
    after, ci = sent(fake)
    return lines[-1], (ci if after > before else None)


# ---- exoctl: the command line ----

@pytest.mark.parametrize("args, name, params", [
    # a value by position binds the set's positional parameter
    (["Get-Mailbox", "user000001"], "Get-Mailbox", {"Identity": "user000001"}),
    # case, prefixes and the catalogue's spelling of the cmdlet
    (["get-mailbox", "-ident", "user000001", "-resultS", "unlimited"], "Get-Mailbox",
     {"Identity": "user000001", "ResultSize": "Unlimited"}),
    (["Get-Mailbox", "-ResultSize", "+007"], "Get-Mailbox", {"ResultSize": 7}),
    # an alias of the docs
    (["Get-MoveRequest", "-MoveStatus", "Queued"], "Get-MoveRequest", {"Status": "Queued"}),
    # Booleans take their value in any of the forms a shell lets through
    (["Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled", "$false"], "Set-Mailbox",
     {"Identity": "user000001", "HiddenFromAddressListsEnabled": False}),
    (["Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled", "false"], "Set-Mailbox",
     {"Identity": "user000001", "HiddenFromAddressListsEnabled": False}),
    (["Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled:$TRUE"], "Set-Mailbox",
     {"Identity": "user000001", "HiddenFromAddressListsEnabled": True}),
    (["Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled", "0"], "Set-Mailbox",
     {"Identity": "user000001", "HiddenFromAddressListsEnabled": False}),
    # switches, and a switch turned off is sent as false
    (["Set-Mailbox", "user000001", "-WhatIf", "-Confirm:$false"], "Set-Mailbox",
     {"Identity": "user000001", "WhatIf": True, "Confirm": False}),
    # commas split only multi-valued parameters
    (["Set-Mailbox", "user000001", "-DisplayName", "Vance, Adele", "-WhatIf"], "Set-Mailbox",
     {"Identity": "user000001", "DisplayName": "Vance, Adele", "WhatIf": True}),
    (["Set-Mailbox", "user000001", "-EmailAddresses", "a@x.example,b@x.example", "-WhatIf"],
     "Set-Mailbox", {"Identity": "user000001", "EmailAddresses": ["a@x.example", "b@x.example"],
                     "WhatIf": True}),
    (["Set-Mailbox", "user000001", "-EmailAddresses", "a@x.example", "-WhatIf"], "Set-Mailbox",
     {"Identity": "user000001", "EmailAddresses": ["a@x.example"], "WhatIf": True}),
    (["Set-Mailbox", "user000001", "-EmailAddresses", "@{Add=b@x.example,c@x.example;Remove=d@x.example}",
      "-WhatIf"], "Set-Mailbox",
     {"Identity": "user000001", "WhatIf": True,
      "EmailAddresses": {"@odata.type": "#Exchange.GenericHashTable",
                         "Add": ["b@x.example", "c@x.example"], "Remove": "d@x.example"}}),
    # an identity is text, whatever it looks like
    (["Get-Mailbox", "-Identity", "12345"], "Get-Mailbox", {"Identity": "12345"}),
    # $true/$false in filters, as the module rewrites them
    (["Get-Mailbox", "-Filter", "HiddenFromAddressListsEnabled -eq $true"], "Get-Mailbox",
     {"Filter": "HiddenFromAddressListsEnabled -eq 'True'"}),
    # common parameters are not cmdlet parameters
    (["Get-Mailbox", "-ResultSize", "1", "-ErrorAction", "SilentlyContinue", "-wa", "continue",
      "-Verbose"], "Get-Mailbox", {"ResultSize": 1}),
    # a cmdlet the catalogue does not know passes through: the service judges it
    (["Get-SomethingNew", "-Foo", "bar", "-Count", "3"], "Get-SomethingNew", {"Foo": "bar", "Count": 3}),
])
def test_exoctl_binds(exod, fake, args, name, params):
    assert bound(exod, fake, *args) == (name, params)


def test_common_parameters_go_as_headers(exod, fake):
    bound(exod, fake, "Get-Mailbox", "-ResultSize", "1", "-ea", "stop", "-WarningAction", "silentlycontinue")
    h = {k.lower(): v for k, v in fake.counters()["last_invoke_headers"].items()}
    assert h["erroraction"] == "Stop" and h["warningaction"] == "SilentlyContinue"
    assert h["x-cmdletname"] == "Get-Mailbox"


@pytest.mark.parametrize("args, says", [
    # the bash trap: "$false" unquoted expands to nothing
    (["Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled"], "write '$false' in single quotes"),
    (["Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled", ""], "its value is empty"),
    (["Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled", "maybe"], "HiddenFromAddressListsEnabled"),
    (["Get-Mailbox", "-Archive", "false"], "-Archive:$false"),
    (["Get-Mailbox", "-Include", "x"], "is ambiguous: it could be -IncludeAcceptMessagesOnlyFromDLMembersWithDisplayNames"),
    (["Get-Mailbox", "-Idenity", "x"], "did you mean -Identity?"),
    (["Get-Mailbox", "alice", "bob"], "no parameter takes the value 'bob' by position"),
    (["Set-Mailbox", "user000001", "-DisplayName", "Vance,", "Adele"], "quote it whole"),
    (["Get-Mailbox", "-ResultSize", "bad"], "takes a whole number or Unlimited, not 'bad'"),
    (["Get-Mailbox", "-ResultSize", "-1"], "ResultSize"),
    (["Get-Mailbox", "-Anr", "x", "-Identity", "y"], "cannot be used together"),
    (["Get-Mailbox", "-Identity", "a", "-identity", "b"], "Identity"),
    (["Set-Mailbox", "user000001", "-DisplayName", "@{a=b}"], "not a hashtable"),
    (["Get-Mailbox", "-WhatIf"], "WhatIf"),
    (["New-Mailbox", "-Name", "x", "-Password", "Secret123"], "is a SecureString"),
    (["Get-Mailbox", "-ErrorAction", "Sometimes"], "ErrorAction"),
])
def test_exoctl_refuses_before_sending(exod, fake, args, says):
    err = refused(exod, fake, *args)
    assert says in err, err
    assert "Secret123" not in err


def test_exoctl_names_the_help_for_a_known_cmdlet(exod, fake):
    assert "exoctl help Get-Mailbox" in refused(exod, fake, "Get-Mailbox", "-Idenity", "x")


# ---- exod: every socket client gets the same rules ----

@pytest.mark.parametrize("cmdlet, params, name, want", [
    ("get-mailbox", {"ident": "user000001", "resultsize": "5"}, "Get-Mailbox",
     {"Identity": "user000001", "ResultSize": 5}),
    ("Set-Mailbox", {"Identity": "user000001", "HiddenFromAddressListsEnabled": "false", "WhatIf": 1},
     "Set-Mailbox", {"Identity": "user000001", "HiddenFromAddressListsEnabled": False, "WhatIf": True}),
    ("Get-Mailbox", {"Identity": 12345}, "Get-Mailbox", {"Identity": "12345"}),
    ("Set-Mailbox", {"Identity": "user000001", "EmailAddresses": "a@x.example", "WhatIf": True},
     "Set-Mailbox", {"Identity": "user000001", "EmailAddresses": ["a@x.example"], "WhatIf": True}),
    ("Get-Mailbox", {"Filter": "IsMailboxEnabled -eq $false", "ErrorAction": "Stop"}, "Get-Mailbox",
     {"Filter": "IsMailboxEnabled -eq 'False'"}),
    # unknown cmdlets pass through; nested objects are hashtables, tagged as the module tags them
    ("Get-SomethingNew", {"foo": [1, {"a": None}]}, "Get-SomethingNew",
     {"foo": [1, {"@odata.type": "#Exchange.GenericHashTable", "a": None}]}),
])
def test_exod_binds_what_scripts_send(exod, fake, cmdlet, params, name, want):
    _, ci = via_socket(exod, fake, cmdlet, params)
    assert ci is not None and (ci["CmdletName"], ci["Parameters"]) == (name, want)


@pytest.mark.parametrize("cmdlet, params, says", [
    ("Get-Mailbox", {"identity": "a", "Identity": "b"}, "Identity"),
    ("Get-Mailbox", {"Idenity": "a"}, "did you mean -Identity?"),
    ("Set-Mailbox", {"Identity": "a", "HiddenFromAddressListsEnabled": None}, "HiddenFromAddressListsEnabled"),
    ("Set-Mailbox", {"Identity": ["a", "b"]}, "Identity"),
    ("New-Mailbox", {"Name": "x", "Password": "Secret123"}, "is a SecureString"),
    ("Get-Mailbox", {"ErrorVariable": "e"}, "names a PowerShell variable"),
    ("Get-Mailbox", {"ErrorAction": "Inquire"}, "asks a person at a PowerShell prompt"),
])
def test_exod_refuses_before_sending(exod, fake, cmdlet, params, says):
    last, ci = via_socket(exod, fake, cmdlet, params)
    assert ci is None
    assert last["type"] == "error" and last["error"]["code"] == "BadRequest"
    assert says in last["error"]["message"] and "Secret123" not in last["error"]["message"]
