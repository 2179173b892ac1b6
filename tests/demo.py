"""make demo: exod against the simulated cloud, driven by exoctl, with real output.

Starts the fake Entra ID + Exchange Online on 127.0.0.1, makes an app certificate, writes an
exod.conf for it, starts exod on a private socket, runs a few exoctl commands and stops everything.
Nothing here talks to a Microsoft host.
"""

import argparse
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import fakecloud  # noqa: E402

DEMO_MAILBOXES = 2500   # three pages of 1000: the paged run shows nextLink being followed


def banner(text):
    print("\n\033[1m%s\033[0m" % text if sys.stdout.isatty() else "\n== %s" % text, flush=True)


def run(exoctl, sock, *args, pipe=None):
    shown = "exoctl " + " ".join(shlex.quote(a) for a in args) + (" | " + pipe if pipe else "")
    print("$ " + shown, flush=True)
    env = dict(os.environ, EXOD_SOCKET=sock)
    p = subprocess.run([exoctl] + list(args), capture_output=True, text=True, env=env, timeout=120)
    if pipe == "wc -l":
        print(len(p.stdout.splitlines()))
    else:
        sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        raise SystemExit("exoctl exited with %d" % p.returncode)


def failing(exoctl, sock, *args):
    """A command expected to fail: its standard error and exit status."""
    print("$ exoctl " + " ".join(shlex.quote(a) for a in args), flush=True)
    p = subprocess.run([exoctl] + list(args), capture_output=True, text=True,
                       env=dict(os.environ, EXOD_SOCKET=sock), timeout=120)
    sys.stdout.write(p.stdout)
    print(p.stderr.rstrip("\n"))
    print("(exit status %d)" % p.returncode, flush=True)


def wait_socket(path, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("exod exited with %d" % proc.returncode)
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("exod did not start")


def wait_connected(exoctl, sock, timeout=20):
    """exod signs in at start; the demo shows the session once it is warm."""
    deadline = time.monotonic() + timeout
    env = dict(os.environ, EXOD_SOCKET=sock)
    while time.monotonic() < deadline:
        p = subprocess.run([exoctl, "-o", "json", "status"], capture_output=True, text=True, env=env)
        if p.returncode == 0 and '"connected"' in p.stdout:
            return
        time.sleep(0.05)
    raise SystemExit("exod did not sign in:\n" + p.stdout + p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exod", required=True)
    ap.add_argument("--exoctl", required=True)
    args = ap.parse_args()
    exod_bin, exoctl = os.path.abspath(args.exod), os.path.abspath(args.exoctl)
    work = tempfile.mkdtemp(prefix="exod-demo-")
    fake = proc = None
    try:
        banner("Starting the simulated Microsoft cloud on 127.0.0.1")
        creds = fakecloud.make_credentials(os.path.join(work, "creds"))
        fake = fakecloud.FakeCloud(os.path.join(work, "fake"), config=creds["config"])
        fake.knobs(mailboxes=DEMO_MAILBOXES, latency_ms=20)
        print("fake Entra ID and Exchange Online at %s" % fake.url)

        sock = os.path.join(work, "exod.sock")
        conf = os.path.join(work, "exod.conf")
        with open(conf, "w") as f:
            f.write("""[exod]
socket = {sock}
state_dir = {state}
log_level = info

[profile contoso]
organization = contoso.onmicrosoft.com
auth = certificate
app_id = {app_id}
certificate_file = {pfx}
certificate_password_file = {pfxpass}
; the simulated cloud stands in for outlook.office365.com and login.microsoftonline.com
connection_uri = {url}
authority_uri = {url}
ca_file = {ca}
max_connections = 3
""".format(sock=sock, state=os.path.join(work, "state"), app_id=creds["app_id"],
           pfx=creds["pfx"], pfxpass=creds["pfx_password_file"], url=fake.url, ca=fake.ca_file))
        os.makedirs(os.path.join(work, "state"), mode=0o700)
        banner("exod.conf")
        with open(conf) as f:
            sys.stdout.write(f.read())

        banner("Starting exod")
        log = open(os.path.join(work, "exod.log"), "w")
        proc = subprocess.Popen([exod_bin, "-c", conf], stderr=log)
        wait_socket(sock, proc)
        print("exod pid %d serving %s" % (proc.pid, sock))

        wait_connected(exoctl, sock)
        banner("Status of the warm session")
        run(exoctl, sock, "-o", "table", "status")
        banner("Five mailboxes, as a table")
        run(exoctl, sock, "-o", "table", "run", "Get-Mailbox", "-ResultSize", "5")
        banner("One mailbox as a list, as Format-List shows it (exoctl's options go anywhere)")
        run(exoctl, sock, "run", "Get-Mailbox", "user000001", "--output", "list",
            "--select", "Name,DisplayName,EmailAddresses,ProhibitSendQuota")
        banner("Fields picked with jq (--query), as YAML")
        run(exoctl, sock, "run", "Get-Mailbox", "-ResultSize", "2", "--quiet", "--output", "yaml",
            "--query", "{Name, Smtp: .PrimarySmtpAddress}")
        banner("Every mailbox, paged (%d records, pages of 1000)" % DEMO_MAILBOXES)
        run(exoctl, sock, "-o", "ndjson", "run", "Get-Mailbox", "-ResultSize", "Unlimited", pipe="wc -l")
        banner("Parameters bind as in PowerShell: by position, by prefix, checked by type")
        run(exoctl, sock, "-o", "table", "run", "get-mailbox", "user000002", "-resultS", "1")
        banner("A Boolean that bash emptied ($false unquoted) is refused before anything is sent")
        failing(exoctl, sock, "run", "Set-Mailbox", "user000001", "-HiddenFromAddressListsEnabled")
        banner("An error from the service reaches the client with its real message and request id")
        failing(exoctl, sock, "run", "Set-Mailbox", "-Identity", "nobody", "-HiddenFromAddressListsEnabled", "true")
        banner("A monitoring check (Nagios/Icinga plugin line; exit status 0 = OK)")
        run(exoctl, sock, "check")
        banner("What the fake saw")
        c = fake.counters()
        print("token requests: %s, InvokeCommand requests: %s, pages: %s, max in flight: %s"
              % (c.get("token_requests"), c.get("invoke_requests"), c.get("pages"), c.get("max_in_flight")))
        banner("exod's log")
        log.flush()
        with open(os.path.join(work, "exod.log")) as f:
            sys.stdout.write(f.read())
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        if fake is not None:
            fake.stop()
        shutil.rmtree(work, ignore_errors=True)
    banner("Demo finished; everything it started is stopped.")


if __name__ == "__main__":
    main()
