#!/usr/bin/python3
"""oracle.py -- runs the fuzzer's programs on Python greenlet, the oracle.

Reads programs in the text form of fuzz/program.h (what `fuzz_<port> -P FIRST COUNT`
prints) and prints, per program, "<seed> ok <hash>" (FNV-1a 64 of the trace) or
"<seed> fail <reason>"; the trace is byte for byte the one fuzz/interp.c prints when
Python and the C library agree.

    fuzz_<port> -P 0 1000 | oracle.py [-j JOBS] [-t SECONDS]
    fuzz_<port> -p 1234   | oracle.py --trace     # one program's trace
    oracle.py --selftest                          # the destroy emulation vs real GC

The C API mapped onto Python greenlet:
  gl_switch(g, v)          g.switch(v)
  gl_throw(g, code, data)  g.throw(GreenletExit(data)) for code 1 (GL_EEXIT), else
                           g.throw(FuzzError(code, data))
  gl_raise(code, data)     raising the same exception from run; gl_reraise(): a bare raise
  gl_set_parent(g, p)      g.parent = p; ValueError("cyclic parent chain") is GL_ECYCLE,
                           AttributeError (parent of a main greenlet) is GL_EMAIN
  gl_settrace(fn)          greenlet.settrace(fn); a C trace function returning non-zero is
                           a Python one raising: tracing is removed and the target gets
                           that exception (FuzzError(GL_ETRACE)) instead of what was sent
  a received value         the value; a GreenletExit instance received as a value (a
                           greenlet ended by it) is its data; run() called with no
                           argument, None, or a GreenletExit without args are "nil"
  gl_destroy(g)            Python has no explicit destroy: it is what greenlet does when the
                           last reference to a greenlet goes away (green_dealloc), emulated
                           so that a handle the program still holds elsewhere does not keep
                           it alive: unstarted or dead -> forgotten; suspended -> parent set
                           to the current greenlet, GreenletExit() thrown in, parent put back
                           (UserGreenlet::ParentIsCurrentGuard). What gl_destroy returns is
                           the C contract's (see Interp.destroy); --selftest checks the
                           emulation against real garbage collection where both exist.
                           The GreenletExit carries no argument: the C one has NULL data
                           (its message, Python's argument, is in gl_error.message).
"""
import gc
import io
import os
import select
import sys
import time

import greenlet
from greenlet import GreenletExit, getcurrent

GL_EEXIT, GL_ECYCLE, GL_EMAIN, GL_EBUSY, GL_ENOTDEAD, GL_ETRACE, GL_ECLEANUP, GL_EDESTROYING = \
    1, 4, 5, 8, 12, 13, 14, 15

KINDS = ("switch", "throw", "set_parent", "destroy", "return", "raise", "trace_fail")
NARGS = {"switch": 2, "throw": 3, "set_parent": 2, "destroy": 1, "return": 1, "raise": 2,
         "trace_fail": 0}


class FuzzError(Exception):
    """An error code of the C API (other than GreenletExit), raised in Python."""

    def __init__(self, code, data):
        super().__init__(code, data)
        self.code, self.data = code, data


def make_error(code, data):
    return GreenletExit(data) if code == GL_EEXIT else FuzzError(code, data)


def error_of(exc):
    """(code, data) of an exception the C API would report as that error code."""
    if isinstance(exc, GreenletExit):
        return GL_EEXIT, exc.args[0] if exc.args else None
    if isinstance(exc, FuzzError):
        return exc.code, exc.data
    if isinstance(exc, ValueError) and str(exc) == "cyclic parent chain":
        return GL_ECYCLE, None
    if isinstance(exc, AttributeError) and "parent of a main greenlet" in str(exc):
        return GL_EMAIN, None
    return None  # not a mapped error: the trace says so


def value_of(v):
    if isinstance(v, GreenletExit):
        return v.args[0] if v.args else None
    return v


def text(v):
    return "nil" if v is None or v == () else str(v)


def error_text(code, data, inner=None):
    if inner is None or inner == code:
        return "E%d/%s" % (code, text(data))
    return "E%d(E%d/%s)" % (code, inner, text(data))


# ---- programs -------------------------------------------------------------------------

class Op:
    __slots__ = ("kind", "target", "other", "depth", "reraise", "code", "value")


class Program:
    def __init__(self):
        self.seed, self.parents, self.scripts = None, [None], [[]]


def gindex(word, n):
    if not word.startswith("g") or not word[1:].isdigit() or int(word[1:]) >= n:
        raise ValueError("unknown greenlet %r" % word)
    return int(word[1:])


def parse_programs(lines):
    """Yields (Program, text) for each program of the stream."""
    prog, text_lines = None, []
    for lineno, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0]
        words = line.split()
        if not words:
            continue
        try:
            if prog is None:
                if len(words) != 2 or words[0] != "program":
                    raise ValueError("expected 'program <seed>'")
                prog, text_lines = Program(), [raw]
                prog.seed = int(words[1])
                continue
            text_lines.append(raw)
            if words == ["end"]:
                yield prog, "".join(text_lines)
                prog = None
                continue
            if words[0] == "greenlet":
                i = len(prog.parents)
                if len(words) != 4 or gindex(words[1], i + 1) != i or words[2] != "parent":
                    raise ValueError("expected 'greenlet g%d parent g<k>'" % i)
                prog.parents.append(gindex(words[3], i))
                prog.scripts.append([])
                continue
            n = len(prog.parents)
            self_ = gindex(words[0], n)
            op = Op()
            op.kind = words[1]
            if op.kind not in KINDS:
                raise ValueError("unknown op %r" % op.kind)
            op.depth, op.reraise, op.code, op.value, op.target, op.other = 0, False, 0, 0, 0, 0
            args = words[2:]
            while args and (args[-1] == "!" or args[-1].startswith("@")):
                if args[-1] == "!":
                    op.reraise = True
                else:
                    op.depth = int(args[-1][1:])
                args.pop()
            if len(args) != NARGS[op.kind]:
                raise ValueError("%r takes %d arguments" % (op.kind, NARGS[op.kind]))
            if op.kind in ("switch", "throw", "set_parent", "destroy"):
                op.target = gindex(args[0], n)
            if op.kind == "set_parent":
                op.other = gindex(args[1], n)
            if op.kind in ("switch", "return"):
                op.value = int(args[-1])
            if op.kind in ("throw", "raise"):
                op.code, op.value = int(args[-2]), int(args[-1])
            prog.scripts[self_].append(op)
        except ValueError as e:
            raise SystemExit("oracle: line %d: %s" % (lineno, e))
    if prog is not None:
        raise SystemExit("oracle: a program without 'end'")


# ---- the interpreter (mirrors fuzz/interp.c line for line) ------------------------------

class Result:
    """An op's outcome: code 0 and a value, or an error code with the error gl_last_error()
    would describe (inner: its code, value: its data; exc: what a re-raise raises)."""
    __slots__ = ("code", "inner", "value", "released", "exc")

    def __init__(self, code=0, value=None, released=False, exc=None, inner=None):
        self.code, self.value, self.released, self.exc = code, value, released, exc
        self.inner = code if inner is None else inner


class Interp:
    def __init__(self, prog):
        self.prog = prog
        self.n = len(prog.parents)
        self.lines = []
        self.over = False
        self.released = [False] * self.n
        self.began = [False] * self.n
        self.ended = [False] * self.n
        self.destroying = [0] * self.n
        self.trace_fail = False
        self.G = []

    def emit(self, line):
        if not self.over:
            self.lines.append(line + "\n")

    def index(self, g):
        for i, x in enumerate(self.G):
            if x is g:
                return i
        return -1

    def state(self):
        cur = getcurrent()
        out = " |"
        for i, g in enumerate(self.G):
            if self.released[i]:
                out += " g%d:-" % i
                continue
            if g.dead:
                letter = "D"
            elif g:
                letter = "R" if g is cur else "A"
            else:
                letter = "U"
            p = g.parent
            if p is None:
                out += " g%d:%s" % (i, letter)
            elif self.index(p) >= 0:
                out += " g%d:%s<g%d" % (i, letter, self.index(p))
            else:
                out += " g%d:%s<UNKNOWN" % (i, letter)
        return out

    def hook(self, event, args):
        origin, target = args
        self.emit("~%s g%d>g%d" % (event, self.index(origin), self.index(target)))
        if self.trace_fail:
            self.trace_fail = False
            raise FuzzError(GL_ETRACE, None)

    # -- ops

    def outcome(self, exc):
        mapped = error_of(exc)
        if mapped is None:
            raise exc
        return Result(mapped[0], mapped[1], exc=exc)

    def destroy(self, self_, t):
        """gl_destroy, as greenlet's dealloc does it (see the module's docstring), with
        greenlet.h's outcomes, which have no Python counterpart: GL_EDESTROYING while a
        destroy of it is in progress; GL_EBUSY for the running greenlet; GL_OK (released)
        for an unstarted or dead one. A suspended one is killed: GL_ECYCLE if it is an
        ancestor of the destroyer (Python refuses that parent: ValueError; it could not
        collect it anyway, the child's parent reference keeps it alive); then GL_OK if
        it died quietly, GL_ECLEANUP (released; the error as the last error) if it died
        with an error, GL_ENOTDEAD (held) if it survived. The old parent comes back
        unless that is now a cycle (Python's setter refuses it; greenlet's dealloc would
        restore it regardless and leave a cycle)."""
        g = self.G[t]
        if self.destroying[t]:
            return self.refused(GL_EDESTROYING)
        if g is getcurrent():
            return self.refused(GL_EBUSY)
        if not g or g.dead:  # unstarted or dead: nothing runs
            self.released[t] = True
            return Result(0, None, True)
        saved = g.parent
        try:
            g.parent = getcurrent()
        except ValueError:
            return self.refused(GL_ECYCLE)
        self.destroying[t] += 1
        try:
            g.throw(GreenletExit())
            r = Result(0, None)
        except BaseException as e:
            r = self.outcome(e)
        self.destroying[t] -= 1
        try:
            g.parent = saved
        except ValueError:
            pass
        if not g.dead:
            return self.refused(GL_ENOTDEAD)
        self.released[t] = True
        if r.code:
            return Result(GL_ECLEANUP, r.value, True, r.exc, inner=r.code)
        return Result(0, None, True)

    @staticmethod
    def refused(code):
        return Result(code, None, False, FuzzError(code, None))

    def exec_op(self, self_, op):
        g = self.G[op.target]
        try:
            if op.kind == "switch":
                return Result(0, value_of(g.switch(op.value)))
            if op.kind == "throw":
                return Result(0, value_of(g.throw(make_error(op.code, op.value))))
            if op.kind == "set_parent":
                g.parent = self.G[op.other]
                return Result(0, None)
            if op.kind == "trace_fail":
                greenlet.settrace(self.hook)
                self.trace_fail = True
                return Result(0, None)
        except BaseException as e:
            return self.outcome(e)
        return self.destroy(self_, op.target)

    def print_op(self, label, i, op):
        if op.kind == "switch":
            self.emit("g%d.%s switch g%d %d" % (i, label, op.target, op.value))
        elif op.kind == "throw":
            self.emit("g%d.%s throw g%d %s" % (i, label, op.target, error_text(op.code, op.value)))
        elif op.kind == "set_parent":
            self.emit("g%d.%s set_parent g%d g%d" % (i, label, op.target, op.other))
        elif op.kind == "destroy":
            self.emit("g%d.%s destroy g%d" % (i, label, op.target))
        elif op.kind == "return":
            self.emit("g%d.%s return %d" % (i, label, op.value))
        elif op.kind == "trace_fail":
            self.emit("g%d.%s trace_fail" % (i, label))
        else:
            self.emit("g%d.%s raise %s" % (i, label, error_text(op.code, op.value)))

    def print_result(self, label, i, op, r):
        if getcurrent() is not self.G[i]:
            self.emit("g%d.%s WRONG CURRENT g%d" % (i, label, self.index(getcurrent())))
        st = self.state()
        if r.code:
            what = error_text(r.code, r.value, r.inner)
        elif r.value is not None and r.value != ():
            what = text(r.value)
        else:
            what = "nil" if op.kind in ("switch", "throw") else "ok"
        if op.kind == "destroy":
            self.emit("g%d.%s = %s %s%s" % (i, label, what, "released" if r.released else "held", st))
        else:
            self.emit("g%d.%s = %s%s" % (i, label, what, st))

    def names_released(self, op):
        if op.kind in ("switch", "throw", "destroy"):
            return self.released[op.target]
        if op.kind == "set_parent":
            return self.released[op.target] or self.released[op.other]
        return False

    def run_script(self, i):
        for k, op in enumerate(self.prog.scripts[i]):
            if self.over:
                return None  # the program ended; a leftover greenlet being collected
            label = str(k)
            self.print_op(label, i, op)
            if self.names_released(op):
                self.emit("g%d.%d skipped (released)" % (i, k))
                continue
            if op.kind == "return":
                self.emit("g%d end return %d" % (i, op.value))
                return op.value
            if op.kind == "raise":
                self.emit("g%d end raise %s" % (i, error_text(op.code, op.value)))
                raise make_error(op.code, op.value)
            r = self.exec_op(i, op)
            if self.over:
                return None
            self.print_result(label, i, op, r)
            if r.code and op.reraise:
                self.emit("g%d end reraise %s" % (i, error_text(r.inner, r.value)))
                raise r.exc
        if i:
            self.emit("g%d end return %d" % (i, (i + 1) * 100 + 99))
        return (i + 1) * 100 + 99

    def body(self, i):
        def run(*args):
            self.began[i] = True
            arg = value_of(args[0]) if args else None
            self.emit("g%d start %s" % (i, text(arg)))
            try:
                return self.run_script(i)
            finally:
                self.ended[i] = True
        return run

    def final_destroys(self):
        bound = self.n + 2 + sum(len(s) for s in self.prog.scripts)
        for pass_ in range(bound):
            held = False
            for t in range(1, self.n):
                if self.released[t]:
                    continue
                held = True
                op = Op()
                op.kind, op.target = "destroy", t
                self.print_op("final", 0, op)
                r = self.destroy(0, t)
                self.print_result("final", 0, op, r)
            if not held:
                return
        self.emit("FINAL DESTROYS DID NOT END after %d passes" % bound)

    def run(self):
        main = getcurrent()
        self.G = [main]
        for i in range(1, self.n):
            self.G.append(greenlet.greenlet(self.body(i), parent=self.G[self.prog.parents[i]]))
        greenlet.settrace(self.hook)
        try:
            self.run_script(0)
            self.final_destroys()
        finally:
            greenlet.settrace(None)
        for i in range(1, self.n):
            if self.released[i] and self.began[i] and not self.ended[i]:
                self.emit("g%d left suspended after release" % i)
        self.emit("end" + self.state())
        self.over = True
        return "".join(self.lines)


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def run_program(prog, collect=True):
    """The trace of one program. What it leaves over (suspended greenlets in reference
    cycles through their frames) is collected between programs, never during one: the
    cyclic collector is off, and runs here every 64 programs (a collection costs about
    as much as a program), while no trace hook is installed and the interpreters are
    over (the leftover greenlets' cleanup prints nothing)."""
    interp = Interp(prog)
    try:
        trace = interp.run()
    except BaseException as e:  # an unmapped exception reached main: part of the trace
        interp.emit("UNEXPECTED %r" % (e,))
        interp.over = True
        trace = "".join(interp.lines)
    del interp
    run_program.count += 1
    if collect or run_program.count % 64 == 0:
        gc.collect()
    return trace


run_program.count = 0


# ---- running many: worker processes with a time limit per program -----------------------

def worker(programs, wfd):
    out = os.fdopen(wfd, "w", buffering=1)
    for prog, _ in programs:
        trace = run_program(prog, collect=False)
        out.write("%d ok %016x\n" % (prog.seed, fnv1a64(trace.encode())))
    out.close()
    os._exit(0)


def run_many(programs, jobs, timeout):
    """Each share of the programs runs in a child; a child that crashes or overruns the
    limit on a program fails that program, and a new child goes on after it."""
    shares = [programs[i::jobs] for i in range(jobs)]
    results = {}
    active = {}  # read fd -> [pid, share, next index, buffer, deadline]

    def spawn(share, start):
        if start >= len(share):
            return
        r, w = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            worker(share[start:], w)
        os.close(w)
        active[r] = [pid, share, start, b"", time_now() + timeout]

    for share in shares:
        spawn(share, 0)
    while active:
        ready, _, _ = select.select(list(active), [], [], 0.2)
        now = time_now()
        for fd in list(active):
            pid, share, idx, buf, deadline = active[fd]
            if fd in ready:
                chunk = os.read(fd, 65536)
                if chunk:
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        seed = int(line.split()[0])
                        results[seed] = line.decode()
                        idx += 1
                        deadline = now + timeout
                    active[fd] = [pid, share, idx, buf, deadline]
                    continue
                # end of output: finished, or died on share[idx]
                os.close(fd)
                del active[fd]
                _, status = os.waitpid(pid, 0)
                if idx < len(share):
                    seed = share[idx][0].seed
                    results[seed] = "%d fail python worker %s" % (seed, describe(status))
                    spawn(share, idx + 1)
            elif now > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                os.close(fd)
                del active[fd]
                seed = share[idx][0].seed
                results[seed] = "%d fail timed out after %g s" % (seed, timeout)
                spawn(share, idx + 1)
    for prog, _ in programs:
        print(results[prog.seed])


def describe(status):
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "exited with status %d" % os.WEXITSTATUS(status)


def time_now():
    return time.monotonic()


# ---- self-test: the destroy emulation against greenlet's own dealloc ----------------------

def selftest():
    """Each scenario runs twice: dropping the last reference (real green_dealloc) and
    through Interp.destroy's emulation; the events seen must be the same."""
    failures = 0

    def scenario(name, body_factory):
        nonlocal failures
        logs = []
        for mode in ("gc", "emulated"):
            log = []
            main = getcurrent()
            hub = greenlet.greenlet(lambda *args: None)  # the original parent, not the destroyer
            g = greenlet.greenlet(body_factory(log, main), parent=hub)
            g.switch()
            log.append("suspended, parent is hub: %s" % (g.parent is hub))
            if mode == "gc":
                old_hook = sys.unraisablehook
                sys.unraisablehook = lambda u: log.append("unraisable %s" % type(u.exc_value).__name__)
                stderr, sys.stderr = sys.stderr, io.StringIO()
                try:
                    del g
                    gc.collect()
                finally:
                    if "GreenletExit did not kill" in sys.stderr.getvalue():
                        log.append("survived")
                    sys.stderr = stderr
                    sys.unraisablehook = old_hook
            else:
                interp = Interp(Program())
                interp.G = [main, g]
                interp.released = [False, False]
                interp.destroying = [0, 0]
                r = interp.destroy(0, 1)
                log.append("dead %s" % g.dead)
                if r.code == GL_ENOTDEAD:
                    log.append("survived")
                elif r.code:
                    log.append("unraisable %s" % type(r.exc).__name__)
                log.append("parent restored: %s" % (g.parent is hub))
            logs.append([x for x in log if not x.startswith(("dead ", "parent restored"))])
        ok = logs[0] == logs[1]
        print("%s %s" % ("ok  " if ok else "FAIL", name))
        if not ok:
            failures += 1
            print("     gc:       %s\n     emulated: %s" % tuple(logs))

    def on_exit(cleanup):
        """A body that waits in main and, when GreenletExit arrives there, runs cleanup."""
        def factory(log, main):
            def run():
                try:
                    main.switch()
                except GreenletExit:
                    return cleanup(log, main)
            return run
        return factory

    def quiet(log, main):
        log.append("GreenletExit, parent is the destroyer: %s" % (getcurrent().parent is main))
        raise  # the GreenletExit being handled

    def raises_other(log, main):
        log.append("caught, raising another error")
        raise FuzzError(100, 7)

    def returns(log, main):
        log.append("caught, returning")
        return 5

    def survives(log, main):
        log.append("caught, switching to the destroyer")
        main.switch()

    scenario("a suspended greenlet gets GreenletExit with the destroyer as parent", on_exit(quiet))
    scenario("an error other than GreenletExit ends it (unraisable in Python)",
             on_exit(raises_other))
    scenario("it may catch GreenletExit and return", on_exit(returns))
    scenario("one that switches away survives (C: GL_ENOTDEAD)", on_exit(survives))
    print("oracle selftest: %d failed" % failures)
    return 1 if failures else 0


def main(argv):
    jobs, timeout, mode = 1, 10.0, "many"
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-j":
            jobs = int(args.pop(0))
        elif a == "-t":
            timeout = float(args.pop(0))
        elif a == "--trace":
            mode = "trace"
        elif a == "--selftest":
            mode = "selftest"
        else:
            raise SystemExit(__doc__)
    if mode == "selftest":
        return selftest()
    gc.disable()  # see run_program
    programs = list(parse_programs(sys.stdin))
    if mode == "trace":
        for prog, _ in programs:
            trace = run_program(prog)
            sys.stdout.write(trace)
            sys.stdout.write("# ok %016x\n" % fnv1a64(trace.encode()))
        return 0
    run_many(programs, max(1, jobs), timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
