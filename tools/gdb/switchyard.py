# switchyard.py — gdb commands for Switchyard greenlets (gdb >= 12, Python 3).
#
#   info greenlets         the live greenlets of the selected thread: number, address,
#                          state (current / suspended / unstarted / dead), parent, run
#   greenlet bt N [opts]   backtrace of greenlet N (its number in `info greenlets`, or
#                          an expression giving a gl_greenlet *); `opts` go to `bt`
#
# gdb loads this file by itself from every program linked with a Switchyard library
# (section .debug_gdb_scripts, written by core/registry.c) once the program's directory
# is in its auto-load safe-path:
#     gdb -iex 'add-auto-load-safe-path /path/to/program/dir' ./program
# or load it by hand:  (gdb) source tools/gdb/switchyard.py
# (installed: $PREFIX/share/switchyard/gdb/switchyard.py).
#
# What it reads: the registry of the selected thread (gl__tls_thread->live: every
# greenlet record not yet freed, main included) and the port's own description of where
# a suspended greenlet's registers are (gl__port_debug_info, core/port.h): it never
# asks which port it is looking at.
#   - registers saved in memory (separate stacks: asm_separate, ucontext): `greenlet bt`
#     loads them into the selected thread for the time of one `bt` and puts the thread's
#     own back; gdb unwinds the greenlet's stack with its CFI (a live process only: a
#     core file's registers cannot be set);
#   - a greenlet that is an OS thread (threads): `greenlet bt` shows that thread's stack;
#   - a stack partly copied to the heap (stackcopy): the greenlet's frames are not where
#     their addresses say until it runs again; `greenlet bt` shows where it resumes and
#     where its data lies, and says so.
import re

import gdb

_STATES = ("current", "suspended", "unstarted", "dead")
_DEBUG_REGS, _DEBUG_COPIED, _DEBUG_THREAD = 1, 2, 3


def _tls_segment_align(path):
    """p_align of the PT_TLS program header of a 64-bit little-endian ELF file, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return None
            phoff = int.from_bytes(head[0x20:0x28], "little")
            phentsize = int.from_bytes(head[0x36:0x38], "little")
            for i in range(int.from_bytes(head[0x38:0x3a], "little")):
                f.seek(phoff + i * phentsize)
                ph = f.read(phentsize)
                if int.from_bytes(ph[0:4], "little") == 7:  # PT_TLS
                    return int.from_bytes(ph[0x30:0x38], "little")
    except OSError:
        pass
    return None


def _tls_thread_static_aarch64():
    """gl__tls_thread of a static AArch64 program whose target cannot look thread-local
    storage up for gdb (qemu-user's gdb stub has no qGetTLSAddr). Local-exec TLS,
    variant I: the program's block starts 16 bytes (the TCB) after the thread pointer,
    rounded up to the TLS segment's alignment."""
    frame = gdb.selected_frame()
    if frame.architecture().name() != "aarch64":
        return None
    where = gdb.execute("info address gl__tls_thread", to_string=True)
    m = re.search(r"thread-local variable at offset (0x[0-9a-f]+) in the thread-local "
                  r"storage for `([^']+)'", where)
    if not m or m.group(2) != gdb.current_progspace().filename:
        return None
    align = _tls_segment_align(m.group(2))
    if align is None:
        return None
    align = max(align, 1)
    tp = int(frame.read_register("TPIDR_EL0"))
    addr = tp + (16 + align - 1) // align * align + int(m.group(1), 16)
    var = gdb.lookup_global_symbol("gl__tls_thread") or gdb.lookup_symbol("gl__tls_thread")[0]
    return gdb.Value(addr).cast(var.type.pointer()).dereference()


def _thread_state():
    try:
        t = gdb.parse_and_eval("gl__tls_thread")
    except gdb.error as e:
        try:
            t = _tls_thread_static_aarch64()
        except (gdb.error, ValueError):
            t = None
        if t is None:
            raise gdb.GdbError("switchyard: cannot read gl__tls_thread (%s); is this a "
                               "program linked with a Switchyard library, built with -g?" % e)
    if int(t) == 0:
        raise gdb.GdbError("switchyard: this thread has not used the greenlet API "
                           "(no main greenlet yet)")
    return t.dereference()


def _greenlets(t):
    """Every record of the thread, oldest first (main first)."""
    out, g, seen = [], t["live"], set()
    while int(g) and int(g) not in seen and len(out) < 1000000:
        seen.add(int(g))
        out.append(g)
        g = g["live_next"]
    out.reverse()
    return out


def _state(t, g):
    if int(g) == int(t["current"]):
        return "current"
    if int(g["is_main"]):
        return "dead" if int(g["finished"]) else "suspended"
    if not int(g["started"]):
        return "unstarted"
    return "dead" if int(g["finished"]) else "suspended"


def _describe_code(addr, at_pc=False):
    """`name at file:line` for a code address (the function's line, or with at_pc the
    line of that instruction), else its hex."""
    if not addr:
        return "-"
    block = None
    try:
        block = gdb.block_for_pc(addr)
    except RuntimeError:
        pass
    while block is not None and block.function is None:
        block = block.superblock
    if block is None:
        sym = gdb.execute("info symbol %#x" % addr, to_string=True).split(" in section")[0]
        return sym.strip() if not sym.startswith("No symbol") else "%#x" % addr
    fn = block.function
    where = ""
    sal = gdb.find_pc_line(addr) if at_pc else None
    if sal is not None and sal.symtab is not None:
        where = " at %s:%d" % (sal.symtab.filename, sal.line)
    elif fn.symtab is not None:
        where = " at %s:%d" % (fn.symtab.filename, fn.line)
    return fn.print_name + where


def _run_of(g):
    if int(g["is_main"]):
        return "(main)"
    fn = g["run"] if not int(g["started"]) else g["ran"]
    addr = int(fn.cast(gdb.lookup_type("unsigned long")))
    return _describe_code(addr) if addr else "-"


class InfoGreenlets(gdb.Command):
    """List the live greenlets of the selected thread.
Usage: info greenlets
One line per greenlet whose memory is still held (created and not yet released, main
first): its number (for `greenlet bt N`), address, state (current, suspended, unstarted,
dead), parent (number, or address when the parent is not listed), run function."""

    def __init__(self):
        super().__init__("info greenlets", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        t = _thread_state()
        gs = _greenlets(t)
        index = {int(g): i + 1 for i, g in enumerate(gs)}
        port = gdb.parse_and_eval("gl__port_info")
        print("%d greenlet%s in this thread (port %s)" % (
            len(gs), "" if len(gs) == 1 else "s", port["name"].string()))
        print("  %-3s %-18s %-10s %-18s %s" % ("#", "greenlet", "state", "parent", "run"))
        for i, g in enumerate(gs):
            state = _state(t, g)
            p = int(g["parent"])
            parent = "-" if not p else str(index[p]) if p in index else "%#x" % p
            print("%s %-3d %-18s %-10s %-18s %s" % (
                "*" if state == "current" else " ", i + 1, "%#x" % int(g), state, parent,
                _run_of(g)))


def _find_greenlet(arg):
    t = _thread_state()
    words = arg.split()
    if not words:
        raise gdb.GdbError("usage: greenlet bt N [bt options] (N from `info greenlets`)")
    spec, rest = words[0], " ".join(words[1:])
    gs = _greenlets(t)
    if spec.isdigit() and 1 <= int(spec) <= len(gs):
        return t, gs[int(spec) - 1], int(spec), rest
    try:
        g = gdb.parse_and_eval(spec).cast(gdb.lookup_type("gl_greenlet").pointer())
    except gdb.error as e:
        raise gdb.GdbError("switchyard: no greenlet %s (%s)" % (spec, e))
    for i, x in enumerate(gs):
        if int(x) == int(g):
            return t, x, i + 1, rest
    raise gdb.GdbError("switchyard: %s is not a live greenlet of this thread" % spec)


def _port_ctx(g):
    """Address of the port's state of g: gl__port_ctx_size bytes (rounded to 16) below."""
    size = int(gdb.parse_and_eval("gl__port_ctx_size"))
    return int(g) - ((size + 15) & ~15)


def _read_word(addr, copy=None):
    """A pointer-sized word at addr; (lo, hi, base) in copy: those bytes live at base."""
    ptr = gdb.lookup_type("unsigned long")
    if copy and copy[0] <= addr < copy[1]:
        addr = copy[2] + (addr - copy[0])
    return int(gdb.parse_and_eval("*(%s *)%#x" % (ptr, addr)))


def _saved_registers(desc, ctx, copy_of=None):
    """{register name: value} from a REGS or COPIED description."""
    base = ctx + int(desc["base_offset"])
    if int(desc["base_indirect"]):
        base = _read_word(base)
    copy = None
    if copy_of:
        copy = copy_of(base)
    regs, r = {}, desc["regs"]
    i = 0
    while int(r[i]["name"]):
        name, off = r[i]["name"].string(), int(r[i]["offset"])
        regs[name] = base + off if int(r[i]["is_address"]) else _read_word(base + off, copy)
        i += 1
    return base, regs


def _bt_with_registers(regs, bt_args):
    """Run `bt` with the selected thread's registers replaced for the time of it."""
    frame = gdb.selected_frame()
    newest = gdb.newest_frame()
    newest.select()
    own = {name: int(newest.read_register(name)) for name in regs}
    try:
        for name, value in regs.items():
            gdb.execute("set $%s = %#x" % (name, value), to_string=True)
        gdb.execute("bt " + bt_args)
    except gdb.error as e:
        print("switchyard: cannot load the greenlet's registers here (%s)" % e)
    finally:
        for name, value in own.items():
            try:
                gdb.execute("set $%s = %#x" % (name, value), to_string=True)
            except gdb.error:
                pass
        try:
            frame.select()
        except gdb.error:
            gdb.newest_frame().select()


class Greenlet(gdb.Command):
    """Switchyard greenlet commands: greenlet bt N."""

    def __init__(self):
        super().__init__("greenlet", gdb.COMMAND_STACK, prefix=True)


class GreenletBt(gdb.Command):
    """Backtrace of a greenlet of the selected thread.
Usage: greenlet bt N [bt options]
N is a number from `info greenlets`, or an expression giving a gl_greenlet *.
The running greenlet: the plain backtrace. A suspended one: its own stack, unwound from
the registers its port saved (separate stacks), or its OS thread's stack (threads port);
on a stack-copying port, where it resumes and where its data is. Unstarted and dead
greenlets have no stack."""

    def __init__(self):
        super().__init__("greenlet bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        t, g, n, bt_args = _find_greenlet(arg)
        state = _state(t, g)
        head = "greenlet %d (%#x, %s, run: %s)" % (n, int(g), state, _run_of(g))
        if state == "current":
            print(head + ": running; its backtrace is the thread's:")
            gdb.execute("bt " + bt_args)
            return
        if state == "unstarted":
            print(head + ": not started, no stack yet")
            return
        if state == "dead":
            print(head + ": dead, no stack")
            return
        try:
            desc = gdb.parse_and_eval("gl__port_debug_info")
        except gdb.error:
            print(head + ": this port does not describe where a suspended greenlet's "
                  "registers are (gl__port_debug_info, core/port.h)")
            return
        kind = int(desc["kind"])
        ctx = _port_ctx(g)
        if kind == _DEBUG_THREAD:
            self._thread_bt(head, desc, ctx, bt_args)
        elif kind == _DEBUG_REGS:
            base, regs = _saved_registers(desc, ctx)
            print(head + ": its own stack, from the registers saved at %#x" % base)
            _bt_with_registers(regs, bt_args)
        elif kind == _DEBUG_COPIED:
            self._copied(head, desc, ctx, bt_args)
        else:
            print(head + ": unknown description kind %d" % kind)

    def _thread_bt(self, head, desc, ctx, bt_args):
        handle = _read_word(ctx + int(desc["thread_offset"]))
        here = gdb.selected_thread()
        known = 0
        for th in gdb.selected_inferior().threads():
            try:
                h = int.from_bytes(th.handle(), "little")
            except (gdb.error, RuntimeError):
                continue
            known += 1
            if h == handle:
                print(head + ": OS thread %d (LWP %d), waiting for the baton:"
                      % (th.num, th.ptid[1]))
                th.switch()
                try:
                    gdb.execute("bt " + bt_args)
                finally:
                    here.switch()
                return
        if not known:
            print(head + ": OS thread with handle %#x, which gdb cannot tell apart here: it "
                  "knows no thread's handle (no thread library support on this target, "
                  "e.g. a static program under qemu-user); `info threads` lists them all"
                  % handle)
            return
        print(head + ": no OS thread with handle %#x in this process" % handle)

    def _copied(self, head, desc, ctx, bt_args):
        copy = _read_word(ctx + int(desc["copy_offset"]))
        copied = _read_word(ctx + int(desc["copied_offset"]))
        base, regs = _saved_registers(
            desc, ctx, copy_of=lambda b: (b, b + copied, copy))
        if copied == 0:
            # Nothing of it was overwritten (a greenlet it started runs below it): its
            # frames are where their addresses say.
            print(head + ": its stack, all of it still in place on the thread's stack, "
                  "from the registers saved at %#x" % base)
            _bt_with_registers(regs, bt_args)
            return
        pc = next((regs[r] for r in ("rip", "pc") if r in regs), 0)
        sp = next((regs[r] for r in ("rsp", "sp") if r in regs), 0)
        print(head + ": its stack is copied in and out of the thread's stack, and the "
              "newest %d bytes of it are in the heap now: it cannot be unwound until it "
              "runs again." % copied)
        print("  resumes at %#x in %s, stack pointer %#x" % (pc, _describe_code(pc, True), sp))
        print("  its data starts at %#x on the thread's stack; [%#x, %#x) is in the heap "
              "at %#x, the rest still in place" % (base, base, base + copied, copy))
        print("  (%s)" % desc["note"].string())


InfoGreenlets()
Greenlet()
GreenletBt()
