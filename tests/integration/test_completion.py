"""Shell completion: the bash and zsh scripts, driven as the shells drive them, against exoctl."""

import os
import shutil
import subprocess

import pytest

from conftest import EXOCTL, ROOT

BASH_SCRIPT = os.path.join(ROOT, "completion", "exoctl.bash")
ZSH_DIR = os.path.join(ROOT, "completion")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def env_for(exod):
    return dict(os.environ, PATH=os.path.dirname(EXOCTL) + ":" + os.environ["PATH"],
                EXOD_SOCKET=exod.socket)


def bash_complete(exod, line, with_library):
    """What bash would offer for the last word of line (a trailing space: a new, empty word)."""
    words = line.split(" ")
    quoted = " ".join("'%s'" % w for w in words)
    script = ""
    if with_library:
        script += "source %s\n" % BASH_COMPLETION
    script += ("source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\nCOMP_LINE='%s'\nCOMP_POINT=%d\n"
               "_exoctl\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n"
               % (BASH_SCRIPT, quoted, len(words) - 1, line, len(line)))
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, env=env_for(exod), timeout=30)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


def zsh_complete(exod, line):
    words = line.split(" ")
    script = ("compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -l -- \"$@\"; }\n"
              "_files() { print -- '<files>'; }\n"
              "fpath=(%s $fpath); autoload -Uz _exoctl\n"
              "words=(%s); CURRENT=%d\n_exoctl\n"
              % (ZSH_DIR, " ".join("'%s'" % w for w in words), len(words)))
    r = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True,
                       env=env_for(exod), timeout=30)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


SHELLS = [
    pytest.param(lambda e, l: bash_complete(e, l, False), id="bash"),
    pytest.param(lambda e, l: bash_complete(e, l, True), id="bash-completion",
                 marks=pytest.mark.skipif(not os.path.exists(BASH_COMPLETION),
                                          reason="bash-completion is not installed")),
    pytest.param(zsh_complete, id="zsh",
                 marks=pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh")),
]


@pytest.mark.parametrize("complete", SHELLS)
def test_commands_options_and_formats(exod, complete):
    assert complete(exod, "exoctl st") == ["status"]
    assert "--profile" in complete(exod, "exoctl --pro")
    assert complete(exod, "exoctl -o nd") == ["ndjson"]
    assert complete(exod, "exoctl login --") == ["--browser", "--device", "--password",
                                                  "--timeout", "--port", "--no-open"]


@pytest.mark.parametrize("complete", SHELLS)
def test_profiles_come_from_exod(exod, complete):
    assert complete(exod, "exoctl -p ") == ["contoso"]
    assert complete(exod, "exoctl -p x") in ([], ["<files>"])


@pytest.mark.parametrize("complete", SHELLS)
def test_cmdlets_and_their_parameters(exod, complete):
    assert complete(exod, "exoctl run get-casm") == ["Get-CASMailbox", "Get-CASMailboxPlan"]
    assert complete(exod, "exoctl help Set-CASMailboxP") == ["Set-CASMailboxPlan"]
    assert complete(exod, "exoctl run Get-Mailbox -Ident") == ["-Identity"]
    params = complete(exod, "exoctl -o json run Set-Mailbox -")
    assert "-HiddenFromAddressListsEnabled" in params and "-ErrorAction" in params
    assert "-Identity" in params and "-WhatIf" in params
    # Values where the catalogue says what they are: a Boolean, an action.
    assert complete(exod, "exoctl run Set-Mailbox -HiddenFromAddressListsEnabled ") == ["true", "false"]
    assert complete(exod, "exoctl run Get-Mailbox -ErrorAction S") == ["SilentlyContinue", "Stop"]


def test_complete_is_quiet_when_exod_is_gone(tmp_path):
    r = subprocess.run([EXOCTL, "-s", str(tmp_path / "none.sock"), "__complete", "-p", ""],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == ""
