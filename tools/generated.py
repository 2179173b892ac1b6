"""Writing a generated source file, or checking that it is up to date (tools/gen_*.py)."""

import os
import sys


def write_or_check(path, text, command, check):
    """Writes text to path atomically; with check, exits 1 unless path already holds it."""
    if check:
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except OSError as e:
            sys.exit("%s: cannot read %s: %s" % (os.path.basename(sys.argv[0]), path, e))
        if current != text:
            sys.exit("%s: %s is out of date; run %s" % (os.path.basename(sys.argv[0]), path, command))
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)
