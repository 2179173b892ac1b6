"""exoctl's output formats, --select and --query on the real binaries against the simulated cloud.

The byte-for-byte layouts are the unit tests' golden files (tests/unit/golden); these check that
what exoctl prints from a real answer reads back as the same data, and that exit codes hold.
"""

import csv
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import termios

import pytest
import yaml

from conftest import EXOCTL


def records(exod, *args):
    r = exod.exoctl("-o", "ndjson", "run", "Get-Mailbox", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines()]


def exoctl_has(option):
    """exoctl's command line is wired to these options (exoctl.c); until then their tests wait."""
    r = subprocess.run([EXOCTL, option, ".", "--version"], capture_output=True, text=True)
    return r.returncode == 0


needs_query = pytest.mark.skipif(not exoctl_has("--query"), reason="exoctl has no --query yet")
needs_select = pytest.mark.skipif(not exoctl_has("--select"), reason="exoctl has no --select yet")


def test_yaml_reads_back_as_the_records(exod, fake):
    fake.knobs(mailboxes=3)
    want = records(exod, "-ResultSize", "3")
    r = exod.exoctl("-o", "yaml", "run", "Get-Mailbox", "-ResultSize", "3")
    assert r.returncode == 0, r.stderr
    # PyYAML reads YAML 1.1, where more plain words are bools and numbers than in 1.2
    assert yaml.safe_load(r.stdout) == want


def test_yaml_of_nothing_is_an_empty_sequence(exod, fake):
    fake.knobs(mailboxes=0)
    r = exod.exoctl("-o", "yaml", "run", "Get-Mailbox")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[]\n"


def test_tsv_is_one_line_a_record_in_the_first_records_columns(exod, fake):
    fake.knobs(mailboxes=3)
    want = records(exod, "-ResultSize", "3")
    r = exod.exoctl("-o", "tsv", "run", "Get-Mailbox", "-ResultSize", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[-1] == "" and len(lines) == 4
    for line, rec in zip(lines, want):
        fields = line.split("\t")
        assert len(fields) == len(want[0])
        assert fields[0] == rec["Name"]
        assert fields[list(rec).index("EmailAddresses")] == json.dumps(rec["EmailAddresses"],
                                                                        separators=(",", ":"))


def test_list_is_name_colon_value(exod, fake):
    fake.knobs(mailboxes=1)
    rec = records(exod, "-ResultSize", "1")[0]
    r = exod.exoctl("-o", "list", "run", "Get-Mailbox", "-ResultSize", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(rec)
    width = max(len(k) for k in rec)
    assert lines[0] == "Name".ljust(width) + " : " + rec["Name"]
    addresses = [l for l in lines if l.startswith("EmailAddresses ")][0]
    assert addresses.endswith(": {%s}" % ", ".join(rec["EmailAddresses"]))


def test_unknown_format_is_a_usage_error(exod):
    r = exod.exoctl("-o", "xml", "run", "Get-Mailbox")
    assert r.returncode == 2 and "unknown output format" in r.stderr


def test_partial_failure_still_exits_1_with_a_whole_document(exod, fake):
    fake.knobs(cmdlet_errors={"count": 1, "errors": ["Couldn't find object \"ghost\"."]})
    r = exod.exoctl("-o", "yaml", "run", "Get-Mailbox", "-ResultSize", "2")
    assert r.returncode == 1
    assert len(yaml.safe_load(r.stdout)) == 2


@needs_select
def test_select_picks_fields_in_order_whatever_their_case(exod, fake):
    fake.knobs(mailboxes=2)
    r = exod.exoctl("-o", "csv", "--select", "alias,NAME,Nothing", "run", "Get-Mailbox",
                    "-ResultSize", "2")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows == [["Alias", "Name", "Nothing"], ["user000001", "user000001", ""],
                    ["user000002", "user000002", ""]]


@needs_select
def test_select_of_an_empty_name_is_a_usage_error(exod, fake):
    r = exod.exoctl("--select", "Name,,Alias", "run", "Get-Mailbox")
    assert r.returncode == 2 and "--select" in r.stderr
    assert fake.counters()["invoke_requests"] == 0


@needs_query
def test_query_runs_on_each_record(exod, fake):
    fake.knobs(mailboxes=3)
    r = exod.exoctl("-o", "ndjson", "--query", "{N: .Name, A: .EmailAddresses[0]}", "run",
                    "Get-Mailbox", "-ResultSize", "3")
    assert r.returncode == 0, r.stderr
    assert [json.loads(l)["N"] for l in r.stdout.splitlines()] == \
        ["user000001", "user000002", "user000003"]


@needs_query
def test_query_slurp_sees_the_whole_result(exod, fake):
    fake.knobs(mailboxes=5)
    r = exod.exoctl("-o", "json", "--slurp", "--query", "[length, (map(.Name) | max)]", "run",
                    "Get-Mailbox", "-ResultSize", "5")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [[5, "user000005"]]


@needs_query
def test_query_that_does_not_compile_sends_nothing(exod, fake):
    r = exod.exoctl("--query", ".Name |||", "run", "Get-Mailbox")
    assert r.returncode == 2
    assert "--query" in r.stderr and "syntax error" in r.stderr
    assert fake.counters()["invoke_requests"] == 0


@needs_query
def test_query_runtime_error_ends_the_output_with_status_2(exod, fake):
    fake.knobs(mailboxes=3)
    r = exod.exoctl("-o", "json", "--query", "if .Name == \"user000002\" then .Name.x else .Name end",
                    "run", "Get-Mailbox", "-ResultSize", "3")
    assert r.returncode == 2
    assert "--query: record 2: Cannot index string" in r.stderr
    assert json.loads(r.stdout) == ["user000001"]


def run_on_terminal(exod, args, columns=60):
    """exoctl with a terminal of that width on stdout: what a person at it would see."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = dict(os.environ, EXOD_SOCKET=exod.socket)
    env.pop("EXOD_PROFILE", None)
    proc = subprocess.Popen([EXOCTL] + args, stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:         # EIO: the other end is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    proc.stderr.close()
    return out.decode().replace("\r\n", "\n")


@needs_query     # the terminal default comes with the same exoctl.c change as --query
def test_on_a_terminal_one_record_is_a_list_and_more_a_table(exod, fake):
    fake.knobs(mailboxes=2)
    one = run_on_terminal(exod, ["run", "Get-Mailbox", "-ResultSize", "1"])
    assert one.startswith("Name ") and "\nDisplayName " in one and " : user000001\n" in one
    two = run_on_terminal(exod, ["run", "Get-Mailbox", "-ResultSize", "2"])
    lines = two.splitlines()
    assert lines[0].startswith("Name ") and lines[1].startswith("----")
    assert len(lines) == 4 and all(len(l) <= 60 for l in lines)
