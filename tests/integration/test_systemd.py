"""The shipped systemd units: filled in by `make units`, rated by `systemd-analyze security`
(overall exposure at most 2.0) and accepted by `systemd-analyze verify` without a warning.

Nothing here starts exod or needs a running systemd: both commands read the unit files
offline. ExecStart= points at the exod under test (EXOD_BIN), since verify checks that the
binary exists and is executable.
"""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXOD = os.path.abspath(os.environ.get("EXOD_BIN", os.path.join(ROOT, "build", "exod")))
ANALYZE = shutil.which("systemd-analyze") or (
    "/usr/bin/systemd-analyze" if os.access("/usr/bin/systemd-analyze", os.X_OK) else None)
MAX_EXPOSURE = 2.0          # systemd-analyze's 0.0 (locked down) .. 10.0 (unprotected) scale

pytestmark = pytest.mark.skipif(ANALYZE is None,
                                reason="systemd-analyze is not installed (Debian package systemd)")


def analyze(*args, cwd):
    return subprocess.run([ANALYZE, "--no-pager", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, SYSTEMD_COLORS="0",
                                                           SYSTEMD_PAGER="cat"))


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    """exod.service and exod.socket as `make install` writes them, with SBINDIR = EXOD's dir."""
    if os.path.basename(EXOD) != "exod" or not os.access(EXOD, os.X_OK):
        pytest.fail("EXOD_BIN must name an executable called exod, not %s" % EXOD)
    d = str(tmp_path_factory.mktemp("units"))
    r = subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + d, "SBINDIR=" + os.path.dirname(EXOD),
                        os.path.join(d, "exod.service"), os.path.join(d, "exod.socket")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "make units failed:\n" + r.stdout + r.stderr
    return d


def directives(path):
    """{(section, key): [values...]} of a unit file; enough for the keys checked below."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            key, _, value = line.partition("=")
            out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def test_unit_has_real_paths(units):
    service = os.path.join(units, "exod.service")
    with open(service) as f:
        text = f.read()
    assert not re.search(r"@[A-Z_]+@", text), "placeholder left in " + service
    exec_start = directives(service)[("Service", "ExecStart")]
    assert exec_start == [EXOD + " -c /etc/exod/exod.conf"]


def test_limits_keep_tokens_out_of_core_files_and_allow_many_clients(units):
    d = directives(os.path.join(units, "exod.service"))
    assert d.get(("Service", "LimitCORE")) == ["0"], "tokens must never land in a core file"
    nofile = d.get(("Service", "LimitNOFILE"), ["0"])[-1]
    assert int(nofile.split(":")[0]) >= 65536, "thousands of clients need descriptors"


def test_no_private_user_namespace(units):
    # In a private user namespace SO_PEERCRED reports every client that is neither root nor
    # exod's own user as uid 65534: allow_users/allow_groups would stop working.
    d = directives(os.path.join(units, "exod.service"))
    assert d.get(("Service", "PrivateUsers"), ["no"])[-1] in ("no", "false", "0", "off")


def test_security_exposure_is_low(units):
    service = os.path.join(units, "exod.service")
    # --threshold counts in tenths: non-zero exit when the exposure is above 2.0.
    r = analyze("security", "--offline=true", "--threshold=%d" % round(MAX_EXPOSURE * 10),
                service, cwd=units)
    m = re.search(r"Overall exposure level for exod\.service: (\d+\.\d+) (\S+)", r.stdout)
    assert m, "no overall exposure in the output:\n" + r.stdout + r.stderr
    open_items = "\n".join(l for l in r.stdout.splitlines() if l.startswith("✗"))
    assert float(m.group(1)) <= MAX_EXPOSURE, (
        "exposure %s %s is above %.1f; still open:\n%s" % (m.group(1), m.group(2), MAX_EXPOSURE,
                                                           open_items))
    assert r.returncode == 0, r.stdout + r.stderr
    # An unknown directive or system call group is only a warning, and would silently weaken
    # the sandbox while the score may still pass.
    assert r.stderr.strip() == "", "systemd-analyze security complained:\n" + r.stderr


def test_verify_accepts_both_units(units):
    # Works offline (no running systemd needed): it loads the units and their dependencies
    # from the unit search path and checks that ExecStart= is executable. Man pages are not
    # installed in a build tree, hence --man=no. verify exits 0 even on "Unknown key" and
    # similar warnings, so any output at all fails the test.
    r = analyze("verify", "--man=no", os.path.join(units, "exod.service"),
                os.path.join(units, "exod.socket"), cwd=units)
    assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", (
        "systemd-analyze verify:\n" + r.stdout + r.stderr)


def test_sandbox_lets_exod_serve_metrics_on_loopback(units):
    # metrics_listen: exod binds a TCP port itself, and Prometheus on the host must reach it.
    d = directives(os.path.join(units, "exod.service"))
    families = " ".join(d.get(("Service", "RestrictAddressFamilies"), [])).split()
    assert "AF_INET" in families and "AF_INET6" in families, families
    assert d.get(("Service", "PrivateNetwork"), ["no"])[-1] in ("no", "false", "0", "off"), (
        "a private network would hide the listener from the host's loopback")
    deny = " ".join(d.get(("Service", "IPAddressDeny"), []))
    allow = " ".join(d.get(("Service", "IPAddressAllow"), []))
    assert not deny or "localhost" in allow or "127.0.0.1" in allow, (deny, allow)
    assert not d.get(("Service", "SocketBindDeny")), "exod must be able to bind metrics_listen"
    syscalls = " ".join(d.get(("Service", "SystemCallFilter"), []))
    assert "@system-service" in syscalls and "@network-io" not in syscalls.split("~", 1)[-1]


def test_documented_socket_drop_in_verifies(units, tmp_path):
    # README "Giving users access": the exod.socket drop-in it shows, as systemctl edit writes it.
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    section = readme.split("## Giving users access", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```ini\n(.*?)```", section, re.S)
    drop_in = [b for b in blocks if b.lstrip().startswith("[Socket]")]
    assert drop_in, "no [Socket] drop-in in README's Giving users access"
    d = tmp_path / "units"
    shutil.copytree(units, d)
    (d / "exod.socket.d").mkdir()
    (d / "exod.socket.d" / "override.conf").write_text(drop_in[0])
    r = analyze("verify", "--man=no", str(d / "exod.service"), str(d / "exod.socket"), cwd=str(d))
    assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", (
        "systemd-analyze verify:\n" + r.stdout + r.stderr)
    socket = directives(str(d / "exod.socket"))
    socket.update(directives(str(d / "exod.socket.d" / "override.conf")))
    assert socket[("Socket", "SocketMode")][-1] == "0660"
    assert socket[("Socket", "SocketGroup")][-1] != "exod", "the example should change the group"


def test_cache_key_comes_as_an_encrypted_credential(units):
    # exod.service decrypts the token cache's key into $CREDENTIALS_DIRECTORY; the shipped
    # exod.conf names that credential, and the README makes it where systemd looks for it
    # (a bare name is searched in /etc/credstore.encrypted/, and skipped when missing, so the
    # line may stay when there is no key, and verify above accepts it).
    d = directives(os.path.join(units, "exod.service"))
    assert d.get(("Service", "LoadCredentialEncrypted")) == ["cache.key"]
    with open(os.path.join(ROOT, "conf", "exod.conf")) as f:
        assert re.search(r"^cache_key_file = cache\.key$", f.read(), re.M)
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert ("openssl rand -hex 32 | systemd-creds encrypt --name=cache.key - "
            "/etc/credstore.encrypted/cache.key") in readme
