"""exoctl on a real terminal (tmux): tables that fit, the one-record list, the live progress line."""

import pytest

from conftest import EXOCTL
from terminal import Terminal

CJK_NAME = "山田 太郎"          # 9 columns wide, 13 bytes
EMOJI_NAME = "Café ☕ team"


@pytest.fixture
def terminal(tmp_path):
    terms = []

    def make(width=80, height=24):
        t = Terminal(tmp_path, width, height)
        terms.append(t)
        return t

    yield make
    for t in terms:
        t.close()


def run_in(terminal, exod, *args, width=80, height=24):
    t = terminal(width, height)
    t.start([EXOCTL, "-s", exod.socket] + list(args), env={"LANG": "C.UTF-8"})
    return t


def display_width(line):
    """Columns a line takes on the terminal: East Asian wide characters count two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_table_fits_sixty_columns_with_cjk(exod, terminal):
    for ident, name in (("user000001", CJK_NAME), ("user000002", EMOJI_NAME)):
        r = exod.exoctl("run", "Set-Mailbox", ident, "-DisplayName", name)
        assert r.returncode == 0, r.stderr
    t = run_in(terminal, exod, "--quiet", "run", "Get-Mailbox", "-ResultSize", "3", width=60)
    rc, screen = t.wait_exit()
    assert rc == 0, screen
    lines = [l for l in screen.splitlines() if l.strip() and not l.startswith("[exit")]
    header, rows = lines[0], lines[2:5]
    assert header.split()[0] == "Name" and header.split()[1].startswith("Display")
    assert all(display_width(l) <= 60 for l in lines), screen
    assert CJK_NAME in rows[0]
    # the column after DisplayName starts at the same terminal column on every row
    col = [display_width(l[:l.index(w)]) for l, w in zip(rows, ("user000001", "user000002",
                                                                "user000003"))
           if w in l]
    assert len(col) == 3 and len(set(col)) == 1
    third = [display_width(l[:l.index(l.split()[-1])]) for l in rows]
    assert len(set(third)) == 1, screen
    # long cells are cut with an ellipsis, never past the edge
    assert any("…" in l for l in lines), screen


def test_one_record_is_a_list(exod, terminal):
    t = run_in(terminal, exod, "run", "Get-Mailbox", "user000001", height=60)
    rc, screen = t.wait_exit()
    assert rc == 0, screen
    assert "Name" in screen and " : user000001" in screen
    names = [l.split(" : ")[0] for l in screen.splitlines() if " : " in l]
    assert len(names) > 5 and len(set(len(n) for n in names)) == 1, screen


def test_progress_line_while_throttled(exod, fake, terminal):
    """The live line says why exod waits, then disappears when the run is done."""
    fake.knobs(throttle={"count": 1, "retry_after": 6})
    t = run_in(terminal, exod, "run", "Get-Mailbox", "-ResultSize", "2", "--output", "csv",
               "--select", "Name,Alias")
    screen = t.wait_text("Get-Mailbox: throttled by the service, retrying in ")
    assert "(1 of" in screen, screen
    rc, screen = t.wait_exit()
    assert rc == 0, screen
    assert "throttled" not in screen, screen
    assert "Name,Alias\nuser000001,user000001\nuser000002,user000002\n" in screen, screen


def test_no_progress_with_no_progress(exod, fake, terminal):
    fake.knobs(throttle={"count": 1, "retry_after": 2})
    t = run_in(terminal, exod, "--no-progress", "run", "Get-Mailbox", "-ResultSize", "2",
               "--output", "csv")
    rc, screen = t.wait_exit()
    assert rc == 0
    assert "throttled" not in screen
    assert fake.counters()["throttled"] == 1
