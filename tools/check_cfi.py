#!/usr/bin/python3
"""check_cfi.py OBJECT [--tools PREFIX] [--label TEXT] — checks the unwind information (CFI) of an
assembled mechanism/arch/switch_<arch>_<abi>.S at every instruction.

It walks each function of the object instruction by instruction, tracking where the
stack pointer is relative to the frame's CFA and where the caller's value of every
callee-saved register (and the return address) is, and compares that with the CFI row
in force at that instruction, interpreted from `readelf --debug-dump=frames`:
  - the CFA is the stack pointer plus what has been pushed;
  - a register whose value was overwritten must be described as saved in its slot,
    at the right offset; one still in its register may be described either way, but
    never at a slot that has been popped (below the stack pointer);
  - after the stack pointer is loaded from elsewhere, the registers hold the other
    greenlet's values: every one must be described by its slot in the (common) frame.
The switch protocol is declared below, once per function: what each stack-pointer
load points at ("frame": a frame of the common layout; "none": no whole frame, so the
return address must be undefined), and which functions are outermost (return address
undefined everywhere; entered after a first nop, so that a return address minus one,
which unwinders look up, falls inside them). Anything the model does not know (a branch, an unmodelled write
to the stack pointer or a callee-saved register, a function not declared here) is an
error, so the checker cannot silently pass over new code. Also checks that every
global symbol is hidden.

Exit status 0 when every instruction checks out; prints one line per function.
"""
import re
import subprocess
import sys

# What each stack-pointer load of a function points at, in order; outermost functions.
PROTOCOL = {
    "gl__ctx_switch": ["frame"],
    "gl__ctx_switch_copy": ["none", "frame"],
    "gl__ctx_make": [],
}
OUTERMOST = {"gl__ctx_trampoline"}

ARCHES = {
    "x86_64": dict(sp="rsp", ra="rip", entry_cfa=8, ra_in_memory=True,
                   tracked=["rbx", "rbp", "r12", "r13", "r14", "r15"]),
    "aarch64": dict(sp="sp", ra="x30", entry_cfa=0, ra_in_memory=False,
                    tracked=["x%d" % i for i in range(19, 31)] + ["v%d" % i for i in range(8, 16)]),
}


class CheckError(Exception):
    pass


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


# ---- the CFI tables ------------------------------------------------------------------

def parse_frames(text):
    """CIEs and FDEs of `readelf --debug-dump=frames` as op lists."""
    cies, fdes, cur = {}, [], None
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]{8}) [0-9a-f]+ ([0-9a-f]{8}) CIE", line)
        if m:
            cur = cies.setdefault(int(m.group(1), 16), [])
            continue
        m = re.match(r"^([0-9a-f]{8}) [0-9a-f]+ [0-9a-f]{8} FDE cie=([0-9a-f]+) "
                     r"pc=([0-9a-f]+)\.\.([0-9a-f]+)", line)
        if m:
            cur = []
            fdes.append(dict(cie=int(m.group(2), 16), lo=int(m.group(3), 16),
                             hi=int(m.group(4), 16), ops=cur))
            continue
        m = re.match(r"^\s+(DW_CFA_\w+)(?::\s*(.*))?$", line)
        if m and cur is not None:
            cur.append((m.group(1), m.group(2) or ""))
    for f in fdes:
        f["cie_ops"] = cies[f["cie"]]
    return fdes


def reg_name(arg):
    m = re.match(r"r\d+ \((\w+)\)", arg)
    if not m:
        raise CheckError("cannot read register in %r" % arg)
    return m.group(1)


def fde_rows(fde):
    """[(address, state)] with state = {"cfa": (reg, off), reg: rule}; a rule is
    ("offset", k), ("undefined",), ("same",); absent = unspecified."""
    rows = []
    state = {}
    loc = fde["lo"]
    stack = []
    initial = None

    def apply(op, arg):
        nonlocal loc, state
        if op in ("DW_CFA_nop",):
            return
        if op.startswith("DW_CFA_advance_loc"):
            rows.append((loc, dict(state)))
            loc = int(arg.split(" to ")[1], 16)
        elif op == "DW_CFA_def_cfa":
            m = re.match(r"(r\d+ \(\w+\)) ofs (-?\d+)", arg)
            state["cfa"] = (reg_name(m.group(1)), int(m.group(2)))
        elif op == "DW_CFA_def_cfa_offset":
            state["cfa"] = (state["cfa"][0], int(arg))
        elif op == "DW_CFA_def_cfa_register":
            state["cfa"] = (reg_name(arg), state["cfa"][1])
        elif op in ("DW_CFA_offset", "DW_CFA_offset_extended", "DW_CFA_offset_extended_sf"):
            m = re.match(r"(r\d+ \(\w+\)) at cfa([+-]\d+)", arg)
            state[reg_name(m.group(1))] = ("offset", int(m.group(2)))
        elif op in ("DW_CFA_restore", "DW_CFA_restore_extended"):
            r = reg_name(arg)
            if r in initial:
                state[r] = initial[r]
            else:
                state.pop(r, None)
        elif op == "DW_CFA_undefined":
            state[reg_name(arg)] = ("undefined",)
        elif op == "DW_CFA_same_value":
            state[reg_name(arg)] = ("same",)
        elif op == "DW_CFA_remember_state":
            stack.append(dict(state))
        elif op == "DW_CFA_restore_state":
            cfa = state["cfa"]
            state = stack.pop()
            state["cfa"] = cfa  # DWARF: the CFA rule is not part of the remembered state
        else:
            raise CheckError("CFA op %s is not modelled" % op)

    for op, arg in fde["cie_ops"]:
        apply(op, arg)
    initial = dict(state)
    for op, arg in fde["ops"]:
        apply(op, arg)
    rows.append((loc, dict(state)))
    return rows


def rule_at(rows, addr):
    cur = None
    for loc, st in rows:
        if loc <= addr:
            cur = st
    return cur


# ---- the instructions ------------------------------------------------------------------

def parse_symbols(obj, tools):
    syms = {}
    for line in run([tools + "readelf", "-sW", obj]).splitlines():
        f = line.split()
        if len(f) >= 8 and f[3] == "FUNC":
            syms[f[7]] = dict(addr=int(f[1], 16), size=int(f[2]), bind=f[4], vis=f[5])
    return syms


def parse_insns(obj, tools):
    insns = []
    for line in run([tools + "objdump", "-d", "--no-show-raw-insn", obj]).splitlines():
        line = re.sub(r"\s+(//|# |<).*$", "", line)  # comments, symbolic targets
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*?)\s*$", line)
        if m:
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return insns


def split_operands(ops):
    out, depth, cur = [], 0, ""
    for ch in ops:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def num(s):
    s = s.lstrip("#$")
    return int(s, 0)


def effects_x86(mn, ops):
    """[(kind, ...)] for one AT&T instruction."""
    o = split_operands(ops)
    mn = re.sub(r"q$", "", mn) if mn not in ("endbr64",) else mn
    if mn in ("endbr64", "nop", "nopw", "nopl", "xchg", "ud2", "stmxcsr", "fnstcw",
              "ldmxcsr", "fldcw", "cs", "data16"):
        return []
    if mn == "ret":
        return [("ret",)]
    if mn == "call":
        return [("call",)]
    if mn == "lea" and len(o) == 2 and o[1] == "%rsp":
        m = re.match(r"^(-?0x[0-9a-f]+|-?\d+)?\(%rsp\)$", o[0])
        if not m:
            raise CheckError("unmodelled lea into rsp: %s" % ops)
        return [("sp_add", num(m.group(1) or "0"))]
    if mn == "push":
        return [("sp_add", -8), ("store", o[0].lstrip("%"), 0)]
    if mn == "pop":
        return [("load", o[0].lstrip("%"), 0), ("sp_add", 8)]
    if mn == "mov" and len(o) == 2:
        src, dst = o
        if dst == "%rsp":
            return [("sp_load",)]
        m = re.match(r"^(-?0x[0-9a-f]+|-?\d+)?\(%rsp\)$", dst)
        if m and src.startswith("%"):
            return [("store", src[1:], num(m.group(1) or "0"))]
        m = re.match(r"^(-?0x[0-9a-f]+|-?\d+)?\(%rsp\)$", src)
        if m and dst.startswith("%"):
            return [("load", dst[1:], num(m.group(1) or "0"))]
        if dst.startswith("%"):
            return [("write", dst[1:])]
        return []
    if mn.startswith("j"):
        raise CheckError("branch %s %s: the checker follows straight-line code only" % (mn, ops))
    if o and o[-1].startswith("%"):
        return [("write", o[-1][1:])]
    return []


def areg(r):
    r = r.strip()
    return "v" + r[1:] if re.match(r"^d\d+$", r) else r


def effects_a64(mn, ops):
    o = split_operands(ops)
    if mn in ("bti", "nop", "brk", "msr", "paciasp", "autiasp", "hint"):
        return []
    if mn == "ret":
        return [("ret",)]
    if mn in ("bl", "blr"):
        return [("call",), ("write", "x30")]
    if mn in ("sub", "add") and len(o) == 3 and o[0] == "sp" and o[1] == "sp":
        d = num(o[2])
        return [("sp_add", -d if mn == "sub" else d)]
    if mn == "mov" and len(o) == 2:
        if o[0] == "sp":
            return [("sp_load",)]
        return [("write", areg(o[0]))]
    if mn in ("stp", "ldp", "str", "ldr"):
        regs = [areg(r) for r in o[:2 if mn.endswith("p") else 1]]
        addr = ",".join(o[len(regs):])
        m = re.match(r"^\[sp(?:,\s*#(-?0x[0-9a-f]+|-?\d+))?\](!?)(?:,\s*#(-?0x[0-9a-f]+|-?\d+))?$", addr)
        if not m:
            return [] if mn.startswith("st") else [("write", r) for r in regs]
        off = num(m.group(1)) if m.group(1) else 0
        pre, post = m.group(2) == "!", m.group(3)
        eff = []
        if pre:
            eff.append(("sp_add", off))
            off = 0
        size = 8
        for i, r in enumerate(regs):
            eff.append(("store" if mn.startswith("st") else "load", r, off + i * size))
        if post:
            eff.append(("sp_add", num(post)))
        return eff
    if re.match(r"^(b|b\.\w+|cbz|cbnz|tbz|tbnz|br)$", mn):
        raise CheckError("branch %s %s: the checker follows straight-line code only" % (mn, ops))
    if o:
        return [("write", areg(o[0]))]
    return []


# ---- the walk -------------------------------------------------------------------------

def check_function(name, sym, insns, fdes, arch, eff_fn, errors):
    a = ARCHES[arch]
    lo, hi = sym["addr"], sym["addr"] + sym["size"]
    fde = next((f for f in fdes if f["lo"] <= lo and hi <= f["hi"]), None)
    if fde is None:
        errors.append("%s: no FDE covers [%#x, %#x)" % (name, lo, hi))
        return 0
    rows = fde_rows(fde)
    body = [i for i in insns if lo <= i[0] < hi]

    if name in OUTERMOST:
        # Entered by a return to its second instruction: a return address minus one,
        # which unwinders look up, must be inside it (its first one, a nop).
        if not body or body[0][1] != "nop":
            errors.append("%s: does not start with the nop a return address minus one "
                          "lands on" % name)
        for addr in [i[0] for i in body]:
            st = rule_at(rows, addr)
            if not st or st.get(a["ra"]) != ("undefined",):
                errors.append("%s+%#x: the outermost frame's return address is not "
                              "undefined" % (name, addr - lo))
        return len(body)

    if name not in PROTOCOL:
        errors.append("%s: not declared in check_cfi.py's PROTOCOL (what its stack-pointer "
                      "loads point at)" % name)
        return 0
    loads = list(PROTOCOL[name])
    tracked = a["tracked"]
    cfa_off = a["entry_cfa"]          # CFA - sp
    in_reg = {r: True for r in tracked}
    slot = {r: None for r in tracked}  # CFA-relative offset holding the caller's value
    contents = {}                      # CFA-relative offset -> register whose value is there
    frame = "valid"
    saved_layout = None
    n = 0
    for addr, mn, ops in body:
        n += 1
        where = "%s+%#x (%s %s)" % (name, addr - lo, mn, ops)
        st = rule_at(rows, addr)
        # -- the row in force before this instruction must describe the state
        if frame == "valid":
            if st.get("cfa") != (a["sp"], cfa_off):
                errors.append("%s: CFA is %s, expected %s+%d" % (where, st.get("cfa"), a["sp"], cfa_off))
            if a["ra_in_memory"] and st.get(a["ra"]) != ("offset", -a["entry_cfa"]):
                errors.append("%s: return address rule %s, expected at cfa-%d"
                              % (where, st.get(a["ra"]), a["entry_cfa"]))
            for r in tracked:
                rule = st.get(r)
                if slot[r] is not None and rule == ("offset", slot[r]):
                    continue
                if in_reg[r] and rule in (None, ("same",)):
                    continue
                if slot[r] is None and not in_reg[r]:
                    errors.append("%s: the caller's %s is nowhere (overwritten, not saved)" % (where, r))
                elif slot[r] is not None and not in_reg[r]:
                    errors.append("%s: %s is described as %s, but it is saved at cfa%+d "
                                  "(the register holds another value)" % (where, r, rule, slot[r]))
                else:
                    errors.append("%s: %s is described as %s, but it is in its register"
                                  % (where, r, rule))
        else:
            if st.get(a["ra"]) != ("undefined",):
                errors.append("%s: no whole frame on the stack here, but the return address "
                              "is not undefined (%s)" % (where, st.get(a["ra"])))
        # -- then its effect
        for e in eff_fn(mn, ops):
            kind = e[0]
            if kind == "ret":
                break
            if kind == "call":
                continue
            if kind == "sp_add":
                cfa_off -= e[1]
                for k in list(contents):   # popped slots are dead
                    if k < -cfa_off:
                        r = contents.pop(k)
                        if slot.get(r) == k:
                            slot[r] = None
            elif kind == "store":
                r, k = e[1], e[2] - cfa_off
                if r in tracked and in_reg[r]:
                    contents[k] = r
                    slot[r] = k
                else:
                    old = contents.pop(k, None)
                    if old and slot.get(old) == k:
                        slot[old] = None
            elif kind == "load":
                r, k = e[1], e[2] - cfa_off
                if r in tracked:
                    in_reg[r] = contents.get(k) == r
                elif r == a["sp"]:
                    errors.append("%s: unmodelled load of the stack pointer" % where)
            elif kind == "write":
                r = e[1]
                if r == a["sp"]:
                    errors.append("%s: unmodelled write to the stack pointer" % where)
                elif r in tracked:
                    in_reg[r] = False
            elif kind == "sp_load":
                if not loads:
                    errors.append("%s: a stack-pointer load PROTOCOL does not declare" % where)
                    continue
                what = loads.pop(0)
                if what == "none":
                    saved_layout = (cfa_off, dict(slot), dict(contents))
                    frame = "none"
                else:
                    if frame == "none":
                        cfa_off, slot, contents = saved_layout[0], dict(saved_layout[1]), dict(saved_layout[2])
                    frame = "valid"
                    for r in tracked:  # the registers hold the other greenlet's values now
                        in_reg[r] = False
                        if slot[r] is None:
                            errors.append("%s: after the switch %s has no slot in the frame: "
                                          "the resumed greenlet's value is lost" % (where, r))
    if loads:
        errors.append("%s: PROTOCOL declares %d stack-pointer load(s) the code does not make"
                      % (name, len(loads)))
    return n


def main():
    args = sys.argv[1:]
    tools = label = ""
    if "--tools" in args:
        i = args.index("--tools")
        tools = args[i + 1]
        del args[i:i + 2]
    if "--label" in args:
        i = args.index("--label")
        label = " " + args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__.split("\n")[0], file=sys.stderr)
        return 2
    obj = args[0]
    header = run([tools + "objdump", "-f", obj])
    arch = "aarch64" if "aarch64" in header else "x86_64" if "x86-64" in header else None
    if arch is None:
        print("check_cfi: %s: unknown architecture" % obj, file=sys.stderr)
        return 2
    errors = []
    try:
        fdes = parse_frames(run([tools + "readelf", "--debug-dump=frames", obj]))
        syms = parse_symbols(obj, tools)
        insns = parse_insns(obj, tools)
        eff_fn = effects_a64 if arch == "aarch64" else effects_x86
        for name, sym in sorted(syms.items(), key=lambda kv: kv[1]["addr"]):
            if sym["bind"] == "GLOBAL" and sym["vis"] != "HIDDEN":
                errors.append("%s: global symbol is not hidden" % name)
            before = len(errors)
            n = check_function(name, sym, insns, fdes, arch, eff_fn, errors)
            print("%-7s cfi %s%s: %s, %d instructions checked" % (
                "ok" if len(errors) == before else "FAIL", arch, label, name, n))
    except CheckError as e:
        errors.append(str(e))
    for e in errors:
        print("check_cfi: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
