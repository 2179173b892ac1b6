"""README "Giving users access": what a user outside the socket's group, or off a profile's
lists, is told by exoctl."""

import grp
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import EXOCTL, Exod, profile_text

NOBODY = 65534                  # Debian's nobody, group nogroup (65534)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")


def exoctl_as(uid, gid, e, *args):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups",
                           EXOCTL, "-s", e.socket, "-o", "json"] + list(args),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def traversable(tmp_path_factory):
    """A directory others may pass through, so that only the socket's own mode stands."""
    d = tempfile.mkdtemp(prefix="exod-socket-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_user_outside_the_sockets_group_is_told_which_group(traversable, fake, creds):
    e = Exod(traversable, profile_text("contoso", fake, creds)).start()    # socket_mode 0660
    try:
        group = grp.getgrgid(os.stat(e.socket).st_gid).gr_name
        r = exoctl_as(NOBODY, NOBODY, e, "status")
        assert r.returncode == 3
        assert ("permission denied on %s (mode 0660, group %s): exod runs, but not for you; an "
                "administrator can add you to group %s (see ACCESS in exoctl(1))"
                % (e.socket, group, group)) in r.stderr
        assert "is it running" not in r.stderr
        # The same user in the socket's group gets in.
        r = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                            "--groups=%d" % os.stat(e.socket).st_gid, EXOCTL, "-s", e.socket,
                            "-o", "json", "ping"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    finally:
        assert e.stop() == 0


def test_a_closed_directory_is_named_as_the_reason(traversable, fake, creds):
    e = Exod(traversable, profile_text("contoso", fake, creds)).start()
    try:
        os.chmod(traversable, 0o700)
        r = exoctl_as(NOBODY, NOBODY, e, "status")
        assert r.returncode == 3
        assert ("permission denied on %s: a directory on its path is closed to you"
                % e.socket) in r.stderr
    finally:
        os.chmod(traversable, 0o755)
        assert e.stop() == 0


def test_a_user_off_the_profiles_lists_is_forbidden(traversable, fake, creds):
    e = Exod(traversable, profile_text("contoso", fake, creds, allow_users="daemon"))
    with open(e.conf) as f:
        text = f.read()
    with open(e.conf, "w") as f:
        f.write(text.replace("[exod]\n", "[exod]\nsocket_mode = 0666\n", 1))
    e.start()
    try:
        r = exoctl_as(NOBODY, NOBODY, e, "run", "Get-Mailbox")
        assert r.returncode == 6
        assert ("Forbidden: no profile given; uid %d may use none of this exod's profiles"
                % NOBODY) in r.stderr
        r = exoctl_as(NOBODY, NOBODY, e, "-p", "contoso", "run", "Get-Mailbox")
        assert r.returncode == 6
        assert "Forbidden: uid %d may not" % NOBODY in r.stderr and "contoso" in r.stderr
        assert "config" not in r.stderr
        r = exoctl_as(NOBODY, NOBODY, e, "status")
        assert r.returncode == 0 and "contoso" not in r.stdout
        assert "uid=%d " % NOBODY in e.log_text() and "denied" in e.log_text()
    finally:
        assert e.stop() == 0
