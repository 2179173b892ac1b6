"""Access control: SO_PEERCRED identities against a profile's user and group lists."""

import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import Exod, profile_text

# Debian's fixed accounts: daemon (1, group 1), bin (2, group 2), nobody (65534, group nogroup).
DAEMON, BIN, NOBODY = 1, 2, 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other users")


def as_user(e, uid, gid, request):
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups",
                        "socat", "-t", "10", "-", "UNIX-CONNECT:" + e.socket],
                       input=(json.dumps(request) + "\n").encode(), capture_output=True, timeout=30)
    return [json.loads(l) for l in r.stdout.splitlines()][-1]


def started_shared(conf_text, exod_keys=""):
    """exod in a directory others can traverse, with a socket they can open: the lists are the gate."""
    d = tempfile.mkdtemp(prefix="exod-access-")
    os.chmod(d, 0o755)
    e = Exod(d, conf_text)
    with open(e.conf) as f:
        text = f.read()
    with open(e.conf, "w") as f:
        f.write(text.replace("[exod]\n", "[exod]\nsocket_mode = 0666\n" + exod_keys, 1))
    e.start()
    return e


@pytest.fixture
def shared_exod(fake, creds):
    e = started_shared(profile_text("contoso", fake, creds, allow_users="nobody",
                                    read_only_groups="daemon"))
    yield e
    assert e.stop() == 0


def test_allowed_user_has_full_access(shared_exod):
    r = as_user(shared_exod, NOBODY, NOBODY, {"op": "run", "cmdlet": "Set-Mailbox",
                                              "params": {"Identity": "user000001", "HiddenFromAddressListsEnabled": True}})
    assert r["type"] == "done", r


def test_read_only_group_may_read_but_not_change(shared_exod):
    assert as_user(shared_exod, DAEMON, DAEMON, {"op": "run", "cmdlet": "Get-Mailbox",
                                                 "params": {"ResultSize": 1}})["type"] == "done"
    r = as_user(shared_exod, DAEMON, DAEMON, {"op": "run", "cmdlet": "Set-Mailbox",
                                              "params": {"Identity": "user000001", "HiddenFromAddressListsEnabled": True}})
    assert r["error"]["code"] == "Forbidden"
    assert as_user(shared_exod, DAEMON, DAEMON, {"op": "logout"})["error"]["code"] == "Forbidden"


def test_others_are_denied_and_logged(shared_exod):
    r = as_user(shared_exod, BIN, BIN, {"op": "run", "cmdlet": "Get-Mailbox"})
    assert r["error"]["code"] == "Forbidden"
    assert as_user(shared_exod, BIN, BIN, {"op": "ping"})["type"] == "done"
    assert "uid=2 " in shared_exod.log_text() and "denied" in shared_exod.log_text()


def test_unknown_user_in_a_list_is_a_start_error(tmp_path, fake, creds):
    from conftest import EXOD
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") +
                    profile_text("contoso", fake, creds, allow_users="no-such-user-here"))
    r = subprocess.run([EXOD, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "allow_users" in r.stderr and "no-such-user-here" in r.stderr


ROLES_TEXT = """
[role helpdesk]
users = bin
cmdlets = Set-Mailbox, Get-Accepted*
"""


@pytest.fixture
def roles_exod(fake, creds):
    e = started_shared(profile_text("contoso", fake, creds, allow_users="nobody",
                                    read_only_groups="daemon",
                                    cmdlets="Get-*, set-mailbox") + ROLES_TEXT)
    yield e
    assert e.stop() == 0


def invoked(fake, cmdlet):
    return fake.counters()["invoke_by_cmdlet"].get(cmdlet, 0)


def test_profile_cmdlets_bind_everyone_before_sending(roles_exod, fake):
    for uid in (0, NOBODY):
        r = as_user(roles_exod, uid, uid, {"op": "run", "cmdlet": "Set-MailboxFolderPermission",
                                           "params": {"Identity": "a:\\Calendar"}})
        assert r["error"]["code"] == "Forbidden", r
        assert "does not run Set-MailboxFolderPermission" in r["error"]["message"]
    assert invoked(fake, "Set-MailboxFolderPermission") == 0
    # Globs match without regard to case, as PowerShell names do.
    r = as_user(roles_exod, NOBODY, NOBODY, {"op": "run", "cmdlet": "SET-MAILBOX",
                                             "params": {"Identity": "user000001",
                                                        "HiddenFromAddressListsEnabled": False}})
    assert r["type"] == "done", r


def test_role_grants_its_cmdlets_and_nothing_else(roles_exod, fake):
    before = invoked(fake, "Get-Mailbox")
    r = as_user(roles_exod, BIN, BIN, {"op": "run", "cmdlet": "Set-Mailbox",
                                       "params": {"Identity": "user000001",
                                                  "HiddenFromAddressListsEnabled": False}})
    assert r["type"] == "done", r
    assert as_user(roles_exod, BIN, BIN, {"op": "run", "cmdlet": "Get-AcceptedDomain"})["type"] == "done"
    r = as_user(roles_exod, BIN, BIN, {"op": "run", "cmdlet": "Get-Mailbox"})
    assert r["error"]["code"] == "Forbidden" and "uid 2 may not run Get-Mailbox" in r["error"]["message"]
    assert invoked(fake, "Get-Mailbox") == before
    assert as_user(roles_exod, BIN, BIN, {"op": "logout"})["error"]["code"] == "Forbidden"
    # A role member sees its profile, as a reader does.
    assert [p["name"] for p in as_user(roles_exod, BIN, BIN, {"op": "status"})["profiles"]] == ["contoso"]
    # The read-only group still reads, and no more.
    assert as_user(roles_exod, DAEMON, DAEMON, {"op": "run", "cmdlet": "Get-Mailbox",
                                                "params": {"ResultSize": 1}})["type"] == "done"
    r = as_user(roles_exod, DAEMON, DAEMON, {"op": "run", "cmdlet": "Set-Mailbox",
                                             "params": {"Identity": "user000001"}})
    assert r["error"]["code"] == "Forbidden"


def test_role_change_takes_effect_on_reload(roles_exod):
    with open(roles_exod.conf) as f:
        text = f.read()
    with open(roles_exod.conf, "w") as f:
        f.write(text.replace("users = bin\n", "users = daemon\n"))
    roles_exod.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while "reloaded" not in roles_exod.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "1 (re)started" in roles_exod.log_text()
    r = as_user(roles_exod, BIN, BIN, {"op": "run", "cmdlet": "Set-Mailbox",
                                       "params": {"Identity": "user000001"}})
    assert r["error"]["code"] == "Forbidden"


def test_role_naming_a_missing_profile_is_a_start_error(tmp_path, fake, creds):
    from conftest import EXOD
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") +
                    profile_text("contoso", fake, creds) +
                    "[role r]\nusers = bin\ncmdlets = *\nprofiles = contoso, fabrikam\n")
    r = subprocess.run([EXOD, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "role r: profiles names a profile that is not configured" in r.stderr
