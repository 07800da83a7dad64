# check_gdb.py — run inside gdb on examples/greenlet_states built for one port: natively
# (`gdb -batch -x check_gdb.py --args PROGRAM`) or attached to qemu-user (`gdb-multiarch
# -batch -ex 'file PROGRAM' -ex 'target remote SOCKET' -x check_gdb.py`); tools/gdb/check.sh
# runs it per port and build. Prints "ok     <check>" / "FAIL   <check>: why" / "skip
# <check>: why" per check and a closing "gdb checks: N passed, N failed".
#
# The greenlet extension (tools/gdb/switchyard.py):
#   - it was auto-loaded from the program's .debug_gdb_scripts section;
#   - `info greenlets` lists main current, the producer suspended, the consumer unstarted
#     and the finished one dead, with their parents and run functions;
#   - `greenlet bt` of the suspended producer walks its own stack (four produce() frames,
#     producer_run, gl__entry) on a port with separate stacks, or says what it can show
#     on a stack-copying one; the thread's registers are the same afterwards (skipped,
#     and said so, for a port without the optional gl__port_debug_info);
#   - stopped inside a greenlet, `bt` goes through the run function and gl__entry to an
#     outermost frame, without "corrupt stack" or "previous frame identical".
#
# The unwind information (CFI) of mechanism/arch's switch, proven by execution (skipped,
# and said so, when the program does not link that switch). Each routine is stepped one
# instruction at a time from its first instruction to its return, calls stepped over:
# gl__ctx_make (its first call), the switch (gl__ctx_switch or gl__ctx_switch_copy) from
# main into the fresh consumer, on through gl__ctx_trampoline into the consumer's entry
# function, and the switch from the dead consumer back into the suspended main. At every
# instruction, what gdb unwinds from the CFI is compared with what the execution itself
# says, not with a model of the instructions:
#   - the leaving greenlet's caller is known at the routine's entry (the return address
#     and stack pointer of the call; callee-saved registers hold the caller's values);
#   - the resumed greenlet's caller is known after the routine's `ret` (pc, sp, registers);
#   - until the routine loads the stack pointer, frame 1 must be the leaving caller: its
#     pc, sp (the CFA) and every callee-saved register equal to the entry's, and the
#     frames above it the same as at the entry; after the load (the last one, for the
#     copying switch), the resumed caller, compared the same way with the state after the
#     `ret`. Between the copying switch's two loads no frame is whole on the stack: the
#     backtrace must end at the routine itself (its return address is undefined);
#   - right after that last load every callee-saved register is dead (the switch reloads
#     each one from the frame): the check overwrites them with poison values, so a
#     register the CFI wrongly leaves "in its register" shows poison, never a value that
#     happens to be equal on both sides;
#   - every register gdb says is saved in memory is at or above the stack pointer (not in
#     stack already popped, which a signal handler may overwrite);
#   - every `bt` is free of "corrupt stack", "previous frame identical / inner", and
#     ends at an outermost frame;
#   - every instruction of each routine is checked: executed, or, for the trampoline's two
#     that never run (the nop a return address minus one lands on, the trap after the
#     call), visited by setting the pc to it with the machine state of its entry (neither
#     changes any state); a routine with an instruction checked neither way fails.
# Ports are told apart only by the public capabilities, gl_port()->caps
# (GL_CAP_SEPARATE_STACKS), and by which switch routine the program reaches.
GL_CAP_SEPARATE_STACKS = 1 << 0  # include/greenlet.h
import re
import gdb

results = []
BAD = ("corrupt stack", "previous frame identical", "previous frame inner",
       "Backtrace stopped", "More stack frames follow")
# A wrong CFI can make each frame's caller a frame further up the same stack: without a
# bound, gdb would walk the whole stack (megabytes, through qemu's stub: minutes). The
# deepest real chain here is under 20 frames.
FRAMES = 64
OUTERMOST = ("main", "gl__ctx_trampoline", "clone3", "clone", "start_thread",
             "thread_start",         # AArch64 glibc's clone entry
             "first_entry",          # a port's own outermost entry function (ucontext)
             "gl__ctx_switch_copy")  # between its loads, no whole frame
POISON = 0x5a5a5a5a00000000

# Per architecture (gdb's name): the stack pointer, the callee-saved registers the CFI
# describes, whether the return address is on the stack at entry (else in x30), and the
# instructions the stepper treats specially: calls (stepped over), returns, and loads of
# the stack pointer from elsewhere (a switch of stacks; not an adjustment).
ARCHES = {
    "i386:x86-64": dict(sp="rsp", regs=["rbx", "rbp", "r12", "r13", "r14", "r15"],
                        ra_on_stack=True, call=r"call", ret=r"ret",
                        sp_load=r"mov[q]?\s+%\w+,\s*%rsp$", ret_byte=0xc3),
    "aarch64": dict(sp="sp", regs=["x%d" % i for i in range(19, 31)] +
                    ["d%d" % i for i in range(8, 16)],
                    ra_on_stack=False, call=r"(bl|blr)\b", ret=r"ret\b",
                    sp_load=r"mov\s+sp,\s*x\d+$", ret_byte=None),
}
# ret_byte: gdb 13 on x86-64 does not read the CFI of an innermost frame stopped at a
# `ret` (0xc3) of code no gcc >= 4.5 compiled, assembly included: it assumes the return
# address at the stack pointer (its "epilogue" unwinder). To see the switch's own rows
# there, the check writes a nop over that byte for the time of the look, then puts the
# `ret` back before stepping it.
#
# How many times each routine loads the stack pointer; the copying switch has no whole
# frame between its first and its last load.
SP_LOADS = {"gl__ctx_make": 0, "gl__ctx_switch": 1, "gl__ctx_switch_copy": 2}
SWITCHES = ("gl__ctx_switch", "gl__ctx_switch_copy")
ROUTINES = ("gl__ctx_make", "gl__ctx_trampoline") + SWITCHES
MASK = (1 << 64) - 1


def check(name, ok, why=""):
    results.append(ok)
    print("%-6s %s%s" % ("ok" if ok else "FAIL", name, "" if ok else ": " + why))
    return ok


def run(cmd):
    try:
        return gdb.execute(cmd, to_string=True)
    except gdb.error as e:
        return "gdb error: %s" % e


def c_name(name):
    """gdb 13 names a minimal (ELF) symbol containing "__" as an Ada name (gl.ctx_switch
    for gl__ctx_switch); a frame shows that name when no DWARF function covers it, as
    for the switch assembled by clang (its assembler describes labels, not functions)."""
    return name.replace(".", "__") if name and name.startswith("gl.") else name


def frames(bt):
    """Function names of a `bt` output, innermost first."""
    out = []
    for line in bt.splitlines():
        m = re.match(r"^#\d+\s+(?:0x[0-9a-f]+ in )?([\w.:<>~]+|\?\?)\s*\(", line)
        if m:
            out.append(c_name(m.group(1)))
    return out


def in_order(names, wanted):
    i = 0
    for n in names:
        if i < len(wanted) and n == wanted[i]:
            i += 1
    return i == len(wanted)


def clean(bt):
    return not any(b in bt for b in BAD) and "gdb error" not in bt


# ---- the machine state, read without the switch's CFI ---------------------------------

def arch():
    return ARCHES[gdb.selected_frame().architecture().name()]


def reg(frame, name):
    """Register `name` as gdb unwinds it in `frame` (an int), None if not available.
    AArch64's dN is read through the raw register holding it (vN, or zN with SVE):
    gdb 13 unwinds raw registers only, and reads a pseudo register such as dN in an
    outer frame as the innermost frame's value, whatever the CFI says."""
    try:
        if name[0] == "d":
            raw = [n for n in ("z" + name[1:], "v" + name[1:])
                   if n in (r.name for r in frame.architecture().registers())]
            v = frame.read_register(raw[0])
            if v.is_optimized_out:
                return None
            return int(v["d"]["u"][0]) & MASK
        v = frame.read_register(name)
        if v.is_optimized_out:
            return None
        return int(v) & MASK
    except (gdb.error, ValueError, IndexError):
        return None


def older(f):
    """The frame that called f, past the tail-call frames gdb infers from the C code's
    call-site information (a function that ended in a jump to the switch): they have no
    registers or unwind information of their own, and no return leads back to them."""
    f = f.older()
    while f is not None and f.type() == gdb.TAILCALL_FRAME:
        f = f.older()
    return f


def chain():
    """(pc, name) of every real frame, innermost first, and why the last one is last.
    Inlined frames are left out: they come from the pc and the DWARF blocks, not from
    unwinding, and a caller's are looked up at its return address minus one, the
    running frame's at its pc: when the call is an inlined function's last instruction
    (the port's switch inlined into the core's by LTO), gdb names that function above
    the switch, and not once the switch has returned."""
    out, f = [], gdb.newest_frame()
    while f is not None and len(out) < FRAMES:
        if f.type() != gdb.INLINE_FRAME:
            out.append((f.pc(), c_name(f.name() or "??")))
        try:
            up = older(f)
        except gdb.error:
            return out, "error"
        if up is None:
            return out, f.unwind_stop_reason()
        f = up
    return out, "too deep"


def outermost(frames_, why):
    return bool(frames_) and frames_[-1][1] in OUTERMOST and why in (
        gdb.FRAME_UNWIND_NO_REASON, gdb.FRAME_UNWIND_OUTERMOST)


def here():
    """The state of the caller as the execution knows it, at a routine's entry."""
    a, f = arch(), gdb.newest_frame()
    sp = reg(f, a["sp"])
    if a["ra_on_stack"]:
        pc = int(gdb.parse_and_eval("*(unsigned long *)%#x" % sp)) & MASK
        sp += 8
    else:
        pc = reg(f, "x30")
    regs = {r: reg(f, r) for r in a["regs"]}
    return dict(pc=pc, sp=sp, regs=regs, chain=chain()[0][1:])


def now():
    """The state after a routine's `ret`: the caller runs, its registers are real."""
    a, f = arch(), gdb.newest_frame()
    return dict(pc=f.pc(), sp=reg(f, a["sp"]), regs={r: reg(f, r) for r in a["regs"]},
                chain=chain()[0])


def caller_as_unwound():
    """Frame 1 as gdb unwinds it from the CFI of the routine in frame 0, or None."""
    a, f = arch(), gdb.newest_frame()
    try:
        up = older(f)
    except gdb.error:
        return None
    if up is None:
        return None
    return dict(pc=up.pc(), sp=reg(up, a["sp"]),
                regs={r: reg(up, r) for r in a["regs"]}, chain=chain()[0][1:])


def saved_below_sp():
    """Registers gdb reads from memory below the stack pointer (popped stack)."""
    sp = reg(gdb.newest_frame(), arch()["sp"])
    info = run("info frame")
    saved = info.split("Saved registers:", 1)[1] if "Saved registers:" in info else ""
    return ["%s at %s" % (r, a) for r, a in re.findall(r"(\w+) at (0x[0-9a-f]+)", saved)
            if int(a, 16) < sp]


def byte_at(addr):
    return int(gdb.parse_and_eval("*(unsigned char *)%#x" % addr))


def poison_callee_saved():
    for i, r in enumerate(arch()["regs"]):
        run("set $%s%s = %#x" % (r, ".u" if r[0] == "d" else "", POISON + i))


def hexs(v):
    return "unavailable" if v is None else "%#x" % v


def differences(seen, want):
    """What differs between two caller states (pc, sp, registers, the frames above)."""
    out = ["%s %s (want %s)" % (k, hexs(seen[k]), hexs(want[k]))
           for k in ("pc", "sp") if seen[k] != want[k]]
    out += ["%s %s (want %s)" % (r, hexs(seen["regs"].get(r)), hexs(v))
            for r, v in want["regs"].items() if seen["regs"].get(r) != v]
    if seen["chain"] != want["chain"]:
        out.append("frames above %s (want %s)" % ([n for _, n in seen["chain"]],
                                                   [n for _, n in want["chain"]]))
    return out


# ---- stepping ------------------------------------------------------------------------

def routine(name):
    """[(address, instruction)] of an assembly routine (its ELF symbol's extent)."""
    out = []
    for line in run("disassemble %s" % name).splitlines():
        m = re.match(r"^(?:=>)?\s+(0x[0-9a-f]+)(?: <[^>]*>)?:\s+(.*)$", line)
        if m:
            out.append((int(m.group(1), 16), re.sub(r"\s+", " ", m.group(2)).strip()))
    return out


class Stepper:
    def __init__(self):
        self.checked = {}   # routine -> set of addresses checked
        self.steps = 0      # instructions stepped in all, for the log

    def covered(self, name, addr):
        self.checked.setdefault(name, set()).add(addr)

    def step_routine(self, name, label):
        """Stopped at the first instruction of `name`: step it to its return."""
        a = arch()
        insns = dict(routine(name))
        lo, hi = min(insns), max(insns) + 1
        entry = here()
        bad, seen = [], []
        loads, total, poisoned = 0, SP_LOADS[name], False
        for _ in range(400):
            pc = gdb.newest_frame().pc()
            if not lo <= pc < hi:
                bad.append("left %s at %#x without returning" % (name, pc))
                break
            insn = insns.get(pc, "?")
            self.covered(name, pc)
            phase = "leaving" if loads == 0 else "resumed" if loads == total else "none"
            if phase == "resumed" and not poisoned:
                poison_callee_saved()
                poisoned = True
            hidden = a["ret_byte"] is not None and re.match(a["ret"], insn) and \
                byte_at(pc) == a["ret_byte"]
            if hidden:
                run("set {unsigned char} %#x = 0x90" % pc)
            bt = run("bt")
            where = "%s+%#x (%s)" % (name, pc - lo, insn)
            if not clean(bt):
                bad.append("%s: bt says %s" % (where, bt.strip().splitlines()[-1]))
            below = saved_below_sp()
            if below:
                bad.append("%s: saved below the stack pointer: %s" % (where, ", ".join(below)))
            fr, why = chain()
            if phase == "none":
                if len(fr) != 1 or why != gdb.FRAME_UNWIND_OUTERMOST:
                    bad.append("%s: no whole frame here, yet bt goes on to %s" % (
                        where, [n for _, n in fr[1:]]))
            else:
                seen.append((where, phase, caller_as_unwound(), outermost(fr, why)))
            if hidden:
                run("set {unsigned char} %#x = %#x" % (pc, a["ret_byte"]))
            self.steps += 1
            if re.match(a["ret"], insn):
                run("stepi")
                break
            run("nexti" if re.match(a["call"], insn) else "stepi")
            loads += bool(re.match(a["sp_load"], insn))
        else:
            bad.append("did not return within 400 instructions")
        if loads != total:
            bad.append("%d stack-pointer loads, the check expects %d" % (loads, total))
        resumed = now()
        if not outermost(*chain()):
            bad.append("after the return, bt does not end at an outermost frame: %s"
                       % [n for _, n in chain()[0]])
        if total == 0 and differences(resumed, entry):
            bad.append("returned to another state than its caller's: %s"
                       % "; ".join(differences(resumed, entry)))
        for where, phase, unwound, ends_well in seen:
            want = entry if phase == "leaving" else resumed
            if unwound is None:
                bad.append("%s: no caller frame (want %s)" % (where, phase))
                continue
            diff = differences(unwound, want)
            if diff:
                bad.append("%s: the %s caller unwinds wrong: %s" % (
                    where, "leaving" if phase == "leaving" else "resumed", "; ".join(diff)))
            elif not ends_well:
                bad.append("%s: bt does not end at an outermost frame" % where)
        check("%s: %s stepped (%d instructions), at each the caller gdb unwinds is the one "
              "the execution shows" % (label, name, len(seen)), not bad,
              "; ".join(bad[:4]) + (" (and %d more)" % (len(bad) - 4) if len(bad) > 4 else ""))

    def step_trampoline(self, label):
        """Just returned into a fresh greenlet's gl__ctx_trampoline: visit the two
        instructions that never run with the entry's state, then step into the call."""
        name = "gl__ctx_trampoline"
        insns = routine(name)
        entry_pc = gdb.newest_frame().pc()
        bad, run_addrs = [], []
        for addr, insn in insns:
            if addr < entry_pc or re.match(r"(ud2|brk|hlt)\b", insn):
                run("set $pc = %#x" % addr)
                fr, why = chain()
                bt = run("bt")
                if len(fr) != 1 or why != gdb.FRAME_UNWIND_OUTERMOST or not clean(bt):
                    bad.append("at +%#x (%s, not executed): bt %s" % (
                        addr - insns[0][0], insn, [n for _, n in fr]))
                self.covered(name, addr)
        run("set $pc = %#x" % entry_pc)
        for _ in range(len(insns) + 1):
            pc = gdb.newest_frame().pc()
            if not insns[0][0] <= pc <= insns[-1][0]:
                break
            insn = dict(insns).get(pc, "?")
            fr, why = chain()
            if len(fr) != 1 or why != gdb.FRAME_UNWIND_OUTERMOST or not clean(run("bt")):
                bad.append("at +%#x (%s): bt %s" % (pc - insns[0][0], insn,
                                                   [n for _, n in fr]))
            self.covered(name, pc)
            run_addrs.append(pc)
            run("stepi")
        fr, why = chain()
        entered = len(fr) == 2 and fr[1][1] == name and why == gdb.FRAME_UNWIND_OUTERMOST
        if not entered or not clean(run("bt")):
            bad.append("at the entry function's first instruction, bt is %s" %
                       [n for _, n in fr])
        check("%s: gl__ctx_trampoline stepped into %s (%d instructions run, the others "
              "visited), bt ends at it at each" % (label, fr[0][1] if fr else "?",
                                                   len(run_addrs)), not bad, "; ".join(bad))

    def coverage(self):
        for name in ROUTINES:
            if name not in self.checked:
                continue
            missing = [(addr, insn) for addr, insn in routine(name)
                       if addr not in self.checked[name]]
            check("every instruction of %s checked" % name, not missing,
                  "never executed nor visited: %s" % ", ".join(
                      "%#x (%s)" % m for m in missing[:6]))


def stop_at(fns):
    """Continue to the first instruction of the next call of one of fns; then break in
    states_checkpoint only. Returns the routine stopped in, or None."""
    run("delete")
    for f in fns:
        run("break *%s" % f)
    out = run("continue")
    pc = gdb.newest_frame().pc() if gdb.selected_inferior().threads() else None
    hit = next((f for f in fns if pc is not None and routine(f) and
                routine(f)[0][0] == pc), None)
    run("delete")
    run("break states_checkpoint")
    return hit, out


def linked(name):
    return "No symbol" not in run("info address %s" % name)


def start():
    """Start the program (native) or let it go on (attached to qemu-user, stopped at its
    first instruction) to the first breakpoint."""
    if gdb.selected_inferior().pid and gdb.selected_inferior().threads():
        return run("continue")
    return run("run")


def main():
    help_ = run("help info greenlets")
    check("extension auto-loaded from the program's .debug_gdb_scripts",
          "live greenlets" in help_, help_.strip())
    run("set pagination off")
    run("set backtrace limit %d" % FRAMES)
    run("set print frame-arguments none")
    run("set confirm off")
    stepper = Stepper()
    uses_switch = any(linked(f) for f in SWITCHES)
    label = "switch"

    # ---- gl__ctx_make, at its first call (stackcopy: inside the first switch)
    if uses_switch and linked("gl__ctx_make"):
        run("break *gl__ctx_make")
        out = start()
        if gdb.selected_inferior().threads() and routine("gl__ctx_make")[0][0] == \
                gdb.newest_frame().pc():
            stepper.step_routine("gl__ctx_make", "make a fresh greenlet's frame")
        else:
            check("gl__ctx_make is called", False, out)
        run("delete")
        run("break states_checkpoint")
        run("continue")
    else:
        run("break states_checkpoint")
        start()
        print("skip   stepping through the switch: this program does not use "
              "mechanism/arch's switch")
    separate = (int(gdb.parse_and_eval("gl__port_info.caps")) & GL_CAP_SEPARATE_STACKS) != 0
    port = gdb.parse_and_eval("gl__port_info.name").string()
    print("port %s (separate stacks: %d), %s" % (
        port, separate, gdb.selected_frame().architecture().name()))

    # ---- stop 1: in main, the others suspended / unstarted / dead
    listing = run("info greenlets")
    rows = {}
    for line in listing.splitlines():
        m = re.match(r"^[* ] (\d+)\s+(0x[0-9a-f]+)\s+(\w+)\s+(\S+)\s+(.*)$", line)
        if m:
            rows[int(m.group(1))] = (m.group(3), m.group(4), m.group(5))
    want = {1: ("current", "-", "(main)"), 2: ("suspended", "1", "producer_run"),
            3: ("unstarted", "1", "consumer_run"), 4: ("dead", "1", "finished_run")}
    ok = len(rows) == 4 and all(
        rows.get(k, ("",) * 3)[:2] == v[:2] and rows[k][2].startswith(v[2])
        for k, v in want.items())
    check("info greenlets in main: main current, producer suspended, consumer "
          "unstarted, finished dead", ok, listing)

    regs = lambda: (int(gdb.parse_and_eval("$pc")), int(gdb.parse_and_eval("$sp")))
    before = regs()
    bt2 = run("greenlet bt 2")
    described = "does not describe" not in bt2 and "cannot tell apart" not in bt2
    if not described:  # optional for a port (core/port.h): say so, check the rest
        print("skip   greenlet bt of suspended greenlets: %s" % (
            "this port has no gl__port_debug_info" if "does not describe" in bt2 else
            "gdb knows no thread handles on this target"))
    elif separate:
        check("greenlet bt of the suspended producer walks its own stack",
              clean(bt2) and in_order(frames(bt2), ["produce"] * 4 +
                                      ["producer_run", "gl__entry"]), bt2)
    else:
        names = frames(bt2)
        check("greenlet bt of the suspended producer on a copied stack says what it "
              "can show", ("cannot be unwound" in bt2 and "resumes at" in bt2) or
              (clean(bt2) and in_order(names, ["produce"] * 4 + ["producer_run"])), bt2)
    check("greenlet bt gives the thread its registers back",
          regs() == before, "%s -> %s" % (before, regs()))
    check("greenlet bt of an unstarted greenlet: no stack yet",
          "not started" in run("greenlet bt 3"))
    check("greenlet bt of a dead greenlet: no stack", "dead, no stack" in run("greenlet bt 4"))

    # ---- the switch into the fresh consumer, on into its entry function
    if uses_switch:
        hit, out = stop_at(SWITCHES)
        if hit:
            stepper.step_routine(hit, "switch main -> fresh consumer")
            if c_name(gdb.newest_frame().name()) == "gl__ctx_trampoline":
                stepper.step_trampoline("switch main -> fresh consumer")
            else:
                check("the switch into a fresh greenlet returns into gl__ctx_trampoline",
                      False, run("bt"))
        else:
            check("the switch into the consumer is reached", False, out)
    run("continue")

    # ---- stop 2: inside the consumer greenlet
    bt = run("bt")
    check("bt inside a greenlet goes through its run function and gl__entry to an "
          "outermost frame, cleanly",
          clean(bt) and in_order(frames(bt), ["states_checkpoint", "consumer_run",
                                              "gl__entry"]) and outermost(*chain()), bt)
    listing = run("info greenlets")
    check("info greenlets in the consumer: it is current, main suspended",
          re.search(r"^\* 3\s+\S+\s+current", listing, re.M) is not None and
          re.search(r"^  1\s+\S+\s+suspended", listing, re.M) is not None, listing)
    bt1 = run("greenlet bt 1")
    if described:
        check("greenlet bt of the suspended main greenlet reaches main()",
              (clean(bt1) and "main" in frames(bt1)) or
              (not separate and "cannot be unwound" in bt1), bt1)

    # ---- the final switch back into the suspended main
    if uses_switch:
        hit, out = stop_at(SWITCHES)
        if hit:
            stepper.step_routine(hit, "switch dead consumer -> suspended main")
        else:
            check("the switch back into main is reached", False, out)
        stepper.coverage()
        print("stepped %d instructions" % stepper.steps)
    out = run("continue")
    code = gdb.parse_and_eval("$_exitcode")
    check("the program ran to its end and exited with 0",
          code.type.code != gdb.TYPE_CODE_VOID and int(code) == 0, out)
    print("gdb checks: %d passed, %d failed" % (results.count(True), results.count(False)))


try:
    main()
except Exception as e:  # a crash of the checker is a failed check, not a pass
    check("checker ran to its end", False, repr(e))
    print("gdb checks: %d passed, %d failed" % (results.count(True), results.count(False)))
