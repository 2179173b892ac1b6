#!/usr/bin/python3
"""make mutate: break one behaviour of the core at a time and check that a test notices.

Every entry of mutations.py names a file, an exact snippet of it (optionally looked for only
inside one function, `within`), its replacement and the tests that should catch the change:
unit binaries (build/tests/NAME) and pytest -k expressions over tests/integration.  The runner
copies the working tree (tracked and untracked files, as they are now, build output left out)
into a temporary directory, builds it once and runs every named test there unmutated, then for
each mutation: applies it, builds, runs its tests (unit binaries first; the first failure is
enough), and puts the file back.  The working tree is never written.

  KILLED       a named test failed (or hung past its time limit)
  SURVIVED     every named test passed: a behaviour no test pins down
  NOT-APPLIED  the snippet is not in the file exactly once: the code moved, rewrite the entry
  INVALID      the mutated tree does not build: not a behaviour change, rewrite the entry

The kill rate is KILLED / (KILLED + SURVIVED), leaving out entries marked `equivalent` (their
reason says why no test can tell them apart).  Exit status 0 only when the rate reaches the goal
and no entry is NOT-APPLIED or INVALID.
"""

import argparse
import fnmatch
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import mutations  # noqa: E402

GOAL = 0.95
UNIT_TIMEOUT_S = 60            # a unit binary takes seconds: longer is a hang
PYTEST_TIMEOUT_S = 900
BUILD_TIMEOUT_S = 900
PYTHON = "/usr/bin/python3"
# A mutant may leave a parameter, variable or static function unused: not a build failure.
MUTANT_CFLAGS = "-O2 -g " + " ".join("-Wno-error=unused-%s" % w for w in
                                     ("parameter", "variable", "function", "but-set-variable"))
PYTEST_NO_TESTS = 5             # pytest's exit status when -k selects nothing


class ListError(Exception):
    """An entry of mutations.py that cannot be judged as written."""


def log(msg=""):
    print(msg, flush=True)


def copy_tree(dst):
    """The working tree as it is now: tracked and untracked files, not what .gitignore leaves out."""
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], check=True, capture_output=True).stdout
    for rel in sorted(set(p for p in out.decode().split("\0") if p)):
        src, to = os.path.join(ROOT, rel), os.path.join(dst, rel)
        if not os.path.lexists(src):
            continue                # deleted in the working tree
        os.makedirs(os.path.dirname(to), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), to)
        else:
            shutil.copy2(src, to)


def function_span(text, within):
    """(start, end) of the one function definition that starts with `within`, or None.

    A declaration (the text reaches ';' before '{') is not the definition."""
    starts, at = [], text.find(within)
    while at >= 0:
        brace, semi = text.find("{", at), text.find(";", at)
        if brace >= 0 and (semi < 0 or brace < semi):
            starts.append(at)
        at = text.find(within, at + 1)
    if len(starts) != 1:
        return None
    end = text.find("\n}\n", starts[0])
    return (starts[0], len(text) if end < 0 else end + 3)


def locate(m, text):
    """Offset of m's snippet in text, or a reason why it cannot be applied."""
    lo, hi = 0, len(text)
    if m.get("within"):
        span = function_span(text, m["within"])
        if span is None:
            return None, "function `within` %r is not defined in %s exactly once" % (m["within"], m["file"])
        lo, hi = span
    region = text[lo:hi]
    n = region.count(m["find"])
    if n != 1:
        where = " inside %r" % m["within"] if m.get("within") else ""
        return None, "snippet found %d times%s in %s (must be exactly once)" % (n, where, m["file"])
    return lo + region.find(m["find"]), None


def run(cmd, cwd, timeout, env=None):
    """(returncode or 'timeout', combined output); the whole process group goes on a timeout."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return "timeout", out.decode(errors="replace")


class Tree:
    def __init__(self, path, jobs):
        self.path = path
        self.jobs = jobs
        self.env = dict(os.environ, EXOD_BIN=os.path.join(path, "build", "exod"),
                        EXOCTL_BIN=os.path.join(path, "build", "exoctl"))
        self.env.pop("EXOD_SANITIZED", None)
        self.env.pop("EXOD_VALGRIND", None)
        # Under `make mutate` the parent make's flags (its jobserver, BUILD=...) stay out.
        self.make_env = {k: v for k, v in os.environ.items()
                         if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

    def build(self, units):
        targets = ["all"] + ["build/tests/%s" % u for u in sorted(units)]
        return run(["make", "-j%d" % self.jobs, "BUILD=build", "SAN=", "CFLAGS=" + MUTANT_CFLAGS] +
                   targets, self.path, BUILD_TIMEOUT_S, self.make_env)

    def unit(self, name):
        # cmocka aborts at the first failed assertion: one is enough, and the tests after it
        # might hang on the state it left.
        return run([os.path.join(self.path, "build", "tests", name)], self.path, UNIT_TIMEOUT_S,
                   dict(os.environ, CMOCKA_TEST_ABORT="1"))

    def pytest(self, expr, collect=False):
        return run([PYTHON, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"] +
                   (["--collect-only"] if collect else []) +
                   ["tests/integration", "-k", expr], self.path, PYTEST_TIMEOUT_S, self.env)


def tail(out, n=25):
    return "\n".join("    | " + l for l in out.rstrip().splitlines()[-n:])


def run_tests(tree, m):
    """The first named test that fails, or None when all pass."""
    for u in m.get("unit", ()):
        rc, out = tree.unit(u)
        if rc != 0:
            return "%s%s" % (u, " (hung)" if rc == "timeout" else ""), out
    for expr in m.get("pytest", ()):
        rc, out = tree.pytest(expr)
        if rc == PYTEST_NO_TESTS:
            raise ListError("pytest -k '%s' selects no test" % expr)
        if rc != 0:
            return "pytest -k '%s'%s" % (expr, " (hung)" if rc == "timeout" else ""), out
    return None, None


def baseline(tree, chosen):
    """Builds the unmutated copy and runs every named test once: all must pass."""
    units = set(u for m in chosen for u in m.get("unit", ()))
    exprs = sorted(set(e for m in chosen for e in m.get("pytest", ())))
    t0 = time.monotonic()
    rc, out = tree.build(units)
    if rc != 0:
        log("the unmutated tree does not build:\n" + tail(out))
        return False
    log("built the unmutated copy in %.0f s" % (time.monotonic() - t0))
    for u in sorted(units):
        rc, out = tree.unit(u)
        if rc != 0:
            log("unmutated: %s fails, so no mutation can be judged by it:\n%s" % (u, tail(out)))
            return False
    for e in exprs:
        rc, out = tree.pytest(e, collect=True)
        if rc != 0:
            log("pytest -k '%s' selects no test (or cannot collect):\n%s" % (e, tail(out)))
            return False
    if exprs:
        rc, out = tree.pytest(" or ".join("(%s)" % e for e in exprs))
        if rc != 0:
            log("unmutated: the named integration tests fail:\n" + tail(out))
            return False
    log("unmutated: %d unit binaries and the named integration tests pass (%.0f s)"
        % (len(units), time.monotonic() - t0))
    return True


def check_list(all_m):
    ids = [m["id"] for m in all_m]
    dup = sorted(set(i for i in ids if ids.count(i) > 1))
    if dup:
        sys.exit("mutations.py: ids used twice: %s" % ", ".join(dup))
    for m in all_m:
        if not m.get("unit") and not m.get("pytest"):
            sys.exit("mutations.py: %s names no test" % m["id"])
        if m["find"] == m["replace"]:
            sys.exit("mutations.py: %s changes nothing" % m["id"])


def check_snippets(chosen):
    """Each entry against the working tree as it is: 1 when any would not apply."""
    bad = 0
    for m in chosen:
        path = os.path.join(ROOT, m["file"])
        if not os.path.isfile(path):
            why = "%s does not exist" % m["file"]
        else:
            why = locate(m, open(path).read())[1]
        if why:
            bad += 1
            log("NOT-APPLIED  %s: %s" % (m["id"], why))
    log("%d of %d mutations apply to the code as it is" % (len(chosen) - bad, len(chosen)))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", metavar="ID", help="only these ids (globs allowed)")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument("--check", action="store_true",
                    help="only check that every snippet is in the code exactly once")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="make -j (default 2)")
    ap.add_argument("--verbose", "-v", action="store_true", help="show why each was killed")
    args = ap.parse_args()

    all_m = mutations.MUTATIONS
    check_list(all_m)
    chosen = [m for m in all_m
              if not args.only or any(fnmatch.fnmatch(m["id"], p) for p in args.only)]
    if args.list:
        for m in chosen:
            log("%-32s %-22s %s" % (m["id"], m["file"], m["what"]))
        return 0
    if not chosen:
        sys.exit("no mutation matches --only")
    if args.check:
        return check_snippets(chosen)

    started = time.monotonic()
    cmd = " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    work = tempfile.mkdtemp(prefix="exod-mutate-")
    results = []
    try:
        copy_tree(work)
        tree = Tree(work, args.jobs)
        log("mutation testing in %s: %d mutations" % (work, len(chosen)))
        # Every entry is checked against the code before anything is built: moved code is loud.
        texts = {}
        for m in chosen:
            path = os.path.join(work, m["file"])
            if m["file"] not in texts:
                texts[m["file"]] = open(path).read() if os.path.isfile(path) else None
            text = texts[m["file"]]
            m["_at"], m["_why"] = (None, "%s does not exist" % m["file"]) if text is None \
                else locate(m, text)
            if m["_at"] is None:
                log("NOT-APPLIED  %s: %s" % (m["id"], m["_why"]))
        if not args.no_baseline and not baseline(tree, [m for m in chosen if m["_at"] is not None]):
            return 2
        for i, m in enumerate(chosen, 1):
            t0 = time.monotonic()
            verdict, by, out = None, "", ""
            if m["_at"] is None:
                verdict, by = "NOT-APPLIED", m["_why"]
            else:
                path = os.path.join(work, m["file"])
                original = texts[m["file"]]
                at = m["_at"]
                with open(path, "w") as f:
                    f.write(original[:at] + m["replace"] + original[at + len(m["find"]):])
                try:
                    rc, out = tree.build(m.get("unit", ()))
                    if rc != 0:
                        verdict, by = "INVALID", "does not build"
                    else:
                        try:
                            failed, out = run_tests(tree, m)
                            verdict, by = ("KILLED", failed) if failed else ("SURVIVED", "")
                        except ListError as e:
                            verdict, by = "INVALID", str(e)
                finally:
                    with open(path, "w") as f:
                        f.write(original)
            results.append((m, verdict, by))
            note = " (declared equivalent)" if m.get("equivalent") else ""
            log("[%2d/%d] %-11s %-32s %-40s %5.0f s%s" % (i, len(chosen), verdict, m["id"], by,
                                                       time.monotonic() - t0, note))
            if verdict == "INVALID" or (args.verbose and verdict == "KILLED"):
                log(tail(out))
    finally:
        if args.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return summary(results, started, cmd)


def summary(results, started, cmd):
    def having(v, equivalent=None):
        return [m for m, verdict, _ in results if verdict == v and
                (equivalent is None or bool(m.get("equivalent")) == equivalent)]

    killed, survived = having("KILLED", False), having("SURVIVED", False)
    eq_survived, eq_killed = having("SURVIVED", True), having("KILLED", True)
    not_applied, invalid = having("NOT-APPLIED"), having("INVALID")
    judged = len(killed) + len(survived)
    rate = len(killed) / judged if judged else 0.0
    log()
    log("==== mutation summary ====")
    log("command:      %s" % cmd)
    log("time taken:   %.0f s" % (time.monotonic() - started))
    log("mutations:    %d (killed %d, survived %d, equivalent %d, not applied %d, invalid %d)"
        % (len(results), len(killed), len(survived), len(eq_survived) + len(eq_killed),
           len(not_applied), len(invalid)))
    log("kill rate:    %d/%d = %.1f%% (goal %.0f%%)" % (len(killed), judged, 100 * rate, 100 * GOAL))
    for m in survived:
        log("SURVIVOR      %s (%s): %s" % (m["id"], m["file"], m["what"]))
    for m in eq_survived:
        log("equivalent    %s: %s" % (m["id"], m["equivalent"]))
    for m in eq_killed:
        log("LIST ERROR    %s is marked equivalent but a test killed it: drop the mark" % m["id"])
    for m in not_applied:
        log("LIST ERROR    %s NOT APPLIED: %s; rewrite it for the code as it is now"
            % (m["id"], m["_why"]))
    for m, verdict, by in results:
        if verdict == "INVALID":
            log("LIST ERROR    %s: %s; rewrite it" % (m["id"], by))
    ok = rate >= GOAL and not not_applied and not invalid and not eq_killed
    log("result:       %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
