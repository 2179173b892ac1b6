"""make install and make uninstall into a temporary DESTDIR: uninstall takes away what install
put there, under the same PREFIX, and keeps an exod.conf the administrator edited."""

import os
import subprocess

import pytest

from conftest import EXOD, ROOT

BUILD = os.path.dirname(os.path.abspath(EXOD))

# Relative to DESTDIR, with PREFIX=/opt/exod and the Makefile's other defaults.
INSTALLED = {
    "opt/exod/sbin/exod",
    "opt/exod/bin/exoctl",
    "opt/exod/share/man/man1/exoctl.1",
    "opt/exod/share/man/man5/exod.conf.5",
    "opt/exod/share/man/man8/exod.8",
    "opt/exod/share/bash-completion/completions/exoctl",
    "opt/exod/share/zsh/site-functions/_exoctl",
    "opt/exod/lib/sysusers.d/exod.conf",
    "opt/exod/lib/systemd/system/exod.service",
    "opt/exod/lib/systemd/system/exod.socket",
    "etc/exod/exod.conf",
}


def make(target, destdir, prefix="/opt/exod"):
    r = subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + BUILD, "DESTDIR=" + str(destdir),
                        "PREFIX=" + prefix, target], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "make %s failed:\n%s%s" % (target, r.stdout, r.stderr)
    return r


def tree(root):
    """(files, directories) under root, relative to it."""
    files, dirs = set(), set()
    for d, subdirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs.update(os.path.normpath(os.path.join(rel, s)) for s in subdirs)
        files.update(os.path.normpath(os.path.join(rel, n)) for n in names)
    return files, dirs


@pytest.fixture(autouse=True)
def built():
    if not os.access(os.path.join(BUILD, "exod"), os.X_OK):
        pytest.fail("no exod in %s (EXOD_BIN)" % BUILD)


def test_uninstall_removes_what_install_put_there(tmp_path):
    dest = tmp_path / "root"
    make("install", dest)
    files, _ = tree(dest)
    assert files == INSTALLED
    assert os.stat(dest / "etc/exod/exod.conf").st_mode & 0o777 == 0o640
    assert os.access(dest / "opt/exod/sbin/exod", os.X_OK)
    with open(dest / "opt/exod/lib/systemd/system/exod.service") as f:
        assert "ExecStart=/opt/exod/sbin/exod " in f.read()     # PREFIX reached the unit

    make("uninstall", dest)
    files, dirs = tree(dest)
    assert files == set(), "left after uninstall: %s" % sorted(files)
    assert "etc/exod" not in dirs       # ours; the shared directories install -d made stay


def test_uninstall_keeps_an_edited_configuration(tmp_path):
    dest = tmp_path / "root"
    make("install", dest)
    conf = dest / "etc/exod/exod.conf"
    with open(conf, "a") as f:
        f.write("\n[profile mine]\nauth = device\norganization = fabrikam.onmicrosoft.com\n")
    r = make("uninstall", dest)
    assert "keeping %s" % conf in r.stdout
    files, _ = tree(dest)
    assert files == {"etc/exod/exod.conf"}


def test_uninstall_under_another_prefix_leaves_this_one(tmp_path):
    dest = tmp_path / "root"
    make("install", dest)
    make("uninstall", dest, prefix="/usr")
    files, _ = tree(dest)
    # Only the sample configuration, whose place does not depend on PREFIX, is gone.
    assert files == INSTALLED - {"etc/exod/exod.conf"}
    make("uninstall", dest)
    assert tree(dest)[0] == set()


def test_install_keeps_an_existing_configuration(tmp_path):
    dest = tmp_path / "root"
    (dest / "etc/exod").mkdir(parents=True)
    (dest / "etc/exod/exod.conf").write_text("; mine\n")
    make("install", dest)
    assert (dest / "etc/exod/exod.conf").read_text() == "; mine\n"
    make("uninstall", dest)
    assert tree(dest)[0] == {"etc/exod/exod.conf"}
