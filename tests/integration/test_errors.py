"""Bad input gets a clear error and loses nothing; failures upstream reach the client."""

import json
import os
import socket
import subprocess

import pytest

from conftest import EXOD, profile_text, read_answer


def test_malformed_unknown_and_bad_fields_keep_the_connection(exod):
    s = exod.connect()
    cases = [
        (b"this is not json\n", "BadRequest"),
        (b"[1,2,3]\n", "BadRequest"),
        (b'{"id":"a","op":"launch"}\n', "UnknownOp"),
        (b'{"op":"run","profile":"nosuch","cmdlet":"Get-Mailbox"}\n', "UnknownProfile"),
        (b'{"op":"run","cmdlet":"rm -rf /"}\n', "BadRequest"),
        (b'{"op":"run","cmdlet":"Get-Mailbox","params":[1]}\n', "BadRequest"),
        (b'{"op":"status","id":{"x":1}}\n', "BadRequest"),
        (b'{"op":"ping","profile":7}\n', "BadRequest"),
    ]
    for line, code in cases:
        s.sendall(line)
        [answer] = read_answer(s)
        assert answer["type"] == "error" and answer["error"]["code"] == code, (line, answer)
        assert answer["error"]["message"]
    # The same connection still serves.
    s.sendall(b'{"id":9,"op":"ping"}\n')
    assert read_answer(s)[-1]["pong"] is True


def test_oversized_line_is_refused_and_closed(exod):
    s = exod.connect()
    s.sendall(b'{"op":"ping","pad":"' + b"x" * 70000 + b'"}\n')
    data = s.makefile("rb").read()      # until exod closes the connection
    [answer] = [json.loads(l) for l in data.splitlines()]
    assert answer["error"]["code"] == "TooLarge"
    # Others are still served.
    assert exod.request({"op": "ping"})[-1]["type"] == "done"


def test_pipelined_requests_are_answered_in_order(exod):
    s = exod.connect()
    s.sendall(b'{"id":1,"op":"ping"}\n{"id":2,"op":"run","cmdlet":"Get-Mailbox","params":{"ResultSize":2}}\n{"id":3,"op":"ping"}\n')
    f = s.makefile("rb")
    ids = []
    while len([i for i in ids if i[1] in ("done", "error")]) < 3:
        m = json.loads(f.readline())
        ids.append((m["id"], m["type"]))
    assert [i for i, t in ids if t in ("done", "error")] == [1, 2, 3]
    assert ids.count((2, "record")) == 2


def test_half_closed_client_gets_its_answer(exod):
    r = subprocess.run(["socat", "-t", "10", "-", "UNIX-CONNECT:" + exod.socket],
                       input=b'{"op":"run","cmdlet":"Get-Mailbox","params":{"ResultSize":3}}\n',
                       capture_output=True, timeout=30)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines[-1]["type"] == "done" and lines[-1]["count"] == 3


def test_upstream_error_carries_the_service_message(exod):
    lines = exod.request({"op": "run", "cmdlet": "Set-Mailbox",
                          "params": {"Identity": "nobody", "HiddenFromAddressListsEnabled": True}})
    err = lines[-1]["error"]
    assert err["code"] == "Upstream" and err["http_status"] == 404
    assert "couldn't be found" in err["message"]
    r = exod.exoctl("run", "Set-Mailbox", "-Identity", "nobody", "-HiddenFromAddressListsEnabled", "true")
    assert r.returncode == 1 and "couldn't be found" in r.stderr


@pytest.mark.parametrize("shape", ["innererror", "details", "message"])
def test_each_error_shape(exod, fake, shape):
    fake.knobs(fault={"status": 400, "count": 1, "shape": shape, "message": "The real reason"})
    err = exod.request({"op": "run", "cmdlet": "Get-Mailbox"})[-1]["error"]
    assert err["code"] == "Upstream" and err["upstream_code"] and err["http_status"] == 400
    assert "The real reason" in err["message"]


def test_throttled_reaches_the_client(exod, fake):
    fake.knobs(throttle={"count": 1, "retry_after": 7})
    err = exod.request({"op": "run", "cmdlet": "Set-Mailbox",
                        "params": {"Identity": "user0001", "Office": "x"}})[-1]["error"]
    assert err["code"] == "Throttled" and err["retry_after"] == 7


def test_bad_config_names_file_line_and_key(tmp_path):
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n[profile p]\norganization = contoso.onmicrosoft.com\n"
                    "auth = secret\nmax_connections = 0\n" % (tmp_path / "s.sock"))
    r = subprocess.run([EXOD, "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "exod.conf:7: max_connections:" in r.stderr


def test_lax_secret_file_is_refused(tmp_path, fake, creds):
    lax = tmp_path / "secret"
    lax.write_text(creds["client_secret"])
    lax.chmod(0o644)
    conf = tmp_path / "exod.conf"
    conf.write_text("[exod]\nsocket = %s\n\n" % (tmp_path / "s.sock") +
                    profile_text("p", fake, creds, auth="secret", client_secret_file=str(lax)))
    r = subprocess.run([EXOD, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and str(lax) in r.stderr and "group or others" in r.stderr
    assert creds["client_secret"] not in r.stderr


def test_exoctl_without_daemon(tmp_path):
    from conftest import EXOCTL
    r = subprocess.run([EXOCTL, "-s", str(tmp_path / "none.sock"), "status"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3
    assert str(tmp_path / "none.sock") in r.stderr


def test_second_exod_on_the_same_socket_is_refused(exod):
    r = subprocess.run([EXOD, "-c", exod.conf], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "another exod" in r.stderr
    assert exod.request({"op": "ping"})[-1]["type"] == "done"


def test_no_secret_in_the_log(exod_factory, fake, creds):
    e = exod_factory(profile_text("contoso", fake, creds, auth="secret"), log_level="debug").start()
    e.request({"op": "run", "cmdlet": "Get-Mailbox", "params": {"ResultSize": 1}})
    e.stop()
    log = e.log_text()
    assert "profile=contoso" in log
    assert creds["client_secret"] not in log
    assert "eyJ" not in log       # no JWT (access token or assertion) of any kind
