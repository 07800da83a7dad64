# check_gdb.py — run inside `gdb -batch -x tools/gdb/check_gdb.py --args PROGRAM` on
# examples/greenlet_states.c built for one port (tools/gdb/check.sh runs it per port).
# Prints "ok     <check>" / "FAIL   <check>: why" per check and a closing
# "gdb checks: N passed, N failed". What it checks:
#   - the extension was auto-loaded from the program's .debug_gdb_scripts section;
#   - `info greenlets` lists main current, the producer suspended, the consumer
#     unstarted and the finished one dead, with their parents and run functions;
#   - `greenlet bt` of the suspended producer walks its own stack (four produce()
#     frames, producer_run, gl__entry) on a port with separate stacks, or says what it
#     can show on a stack-copying one; the thread's registers are the same afterwards
#     (skipped, and said so, for a port without the optional gl__port_debug_info);
#   - stopped inside a greenlet, `bt` goes through the run function and gl__entry to an
#     outermost frame, without "corrupt stack" or "previous frame identical";
#   - stepping through mechanism/arch's switch (gl__ctx_switch, gl__ctx_switch_copy)
#     one instruction at a time, into a fresh greenlet and back into a suspended one,
#     `bt` is clean at every instruction and ends at an outermost frame (skipped, and
#     said so, when the program does not use that switch).
# Ports are told apart only by the public gl_port()->separate_stacks capability.
import re
import gdb

results = []
BAD = ("corrupt stack", "previous frame identical", "previous frame inner",
       "Backtrace stopped")
OUTERMOST = ("main", "gl__ctx_trampoline", "clone3", "clone", "start_thread")


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
    """gdb 13 names the assembly symbols of a clang-assembled switch Ada-style
    (gl.ctx_switch for gl__ctx_switch, from the debug info clang's assembler writes)."""
    return name.replace(".", "__") if name.startswith("gl.") else name


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


def step_through(label):
    """Single-step the switch routine we are stopped at, to its return; bt each time."""
    frame = gdb.selected_frame()
    fn = frame.function()
    name = c_name(fn.name if fn else frame.name())
    block = gdb.block_for_pc(frame.pc())
    lo, hi = block.start, block.end
    steps, bad = 0, []
    returned = False
    while steps < 400:
        pc = gdb.selected_frame().pc()
        bt = run("bt")
        names = frames(bt)
        inside = lo <= pc < hi
        last = names[-1] if names else "?"
        ok_end = last in OUTERMOST or (inside and name == "gl__ctx_switch_copy"
                                       and last == "gl__ctx_switch_copy")
        if not clean(bt) or not ok_end:
            bad.append("at %s+%#x bt ends in %s%s" % (name, pc - lo, last,
                       "" if clean(bt) else " with: " + bt.strip().splitlines()[-1]))
        steps += 1
        if returned:
            break
        insn = gdb.selected_frame().architecture().disassemble(pc)[0]["asm"]
        if re.match(r"^\s*(call|bl)", insn):
            run("nexti")        # over save()/restore(): C code with its own CFI
        else:
            returned = insn.strip().startswith("ret")
            run("stepi")
    check("%s: %d instructions of %s stepped, bt clean and outermost at each"
          % (label, steps, name), not bad and returned, "; ".join(bad[:5]) or
          "did not return within 400 steps")


def step_switches(fns, label):
    """Continue to the next call of one of the switch routines fns and step through it;
    then back to breaking in states_checkpoint only."""
    for f in fns:
        run("break %s" % f)
    run("continue")
    step_through(label)
    run("delete")
    run("break states_checkpoint")


def main():
    check("extension auto-loaded from the program's .debug_gdb_scripts",
          "info greenlets" in run("help info greenlets").lower() or
          "live greenlets" in run("help info greenlets"),
          run("help info greenlets").strip())
    run("set pagination off")
    run("set print frame-arguments none")
    run("break states_checkpoint")
    run("run")
    separate = int(gdb.parse_and_eval("gl__port_info.separate_stacks"))
    port = gdb.parse_and_eval("gl__port_info.name").string()
    print("port %s (separate_stacks = %d)" % (port, separate))

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
    described = "does not describe" not in bt2
    if not described:  # optional for a port (core/port.h): say so, check the rest
        print("skip   greenlet bt of suspended greenlets: this port has no "
              "gl__port_debug_info")
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

    # ---- the switch into the fresh consumer, one instruction at a time
    switch_fns = [f for f in ("gl__ctx_switch", "gl__ctx_switch_copy")
                  if gdb.lookup_global_symbol(f) or
                  "No symbol" not in run("info address %s" % f)]
    stepping = bool(switch_fns)
    if stepping:
        step_switches(switch_fns, "switch main -> fresh consumer")
    else:
        print("skip   stepping through the switch: this program does not use "
              "mechanism/arch's switch")
    run("continue")

    # ---- stop 2: inside the consumer greenlet
    bt = run("bt")
    check("bt inside a greenlet goes through its run function and gl__entry, cleanly",
          clean(bt) and in_order(frames(bt), ["states_checkpoint", "consumer_run",
                                              "gl__entry"])
          and frames(bt)[-1] in OUTERMOST + ("??", "first_entry"), bt)
    listing = run("info greenlets")
    check("info greenlets in the consumer: it is current, main suspended",
          re.search(r"^\* 3\s+\S+\s+current", listing, re.M) is not None and
          re.search(r"^  1\s+\S+\s+suspended", listing, re.M) is not None, listing)
    bt1 = run("greenlet bt 1")
    if described:
        check("greenlet bt of the suspended main greenlet reaches main()",
              (clean(bt1) and "main" in frames(bt1)) or
              (not separate and "cannot be unwound" in bt1), bt1)

    # ---- the final switch back into the suspended main, one instruction at a time
    if stepping:
        step_switches(switch_fns, "switch dead consumer -> suspended main")
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
