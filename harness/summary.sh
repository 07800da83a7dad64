#!/bin/sh
# summary.sh results.json — the Markdown summary of a merged results file: one row per
# case, one column per port (plus the baselines), each cell the median over the
# repetitions with, in parentheses, its ratio to its baseline; then the targets.
#
# Ratios (fixed with the plots, see harness/README.md):
#   switch/asm_separate ÷ baseline_regswap, switch/ucontext ÷ baseline_swapcontext,
#   switch/threads ÷ baseline_thread_handoff, switch_depth/stackcopy/0 ÷ switch/asm_separate.
# The I/O cases (io_*) have their own summary: plots/io_report.py.
set -u
json=${1:?usage: summary.sh results.json}

common='
def r(d): (. * pow(10; d) | round) / pow(10; d);
def num: if . == null then "?"
    elif . >= 1e6 then "\(. / 1e6 | r(2))M" elif . >= 1e4 then "\(. / 1e3 | r(1))k"
    elif . >= 100 then "\(round)" elif . >= 10 then "\(r(1))" else "\(r(2))" end;
def ns: .real_time * ({"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[.time_unit]);
def base_of: if . == "switch/asm_separate" then "baseline_regswap"
    elif . == "switch/ucontext" then "baseline_swapcontext"
    elif . == "switch/threads" then "baseline_thread_handoff"
    elif . == "switch_depth/stackcopy/0" then "switch/asm_separate"
    else null end;
# name -> the entry to show: the median when there are repetitions, else the one run.
def table: [.benchmarks[] | select(.error_occurred | not)]
    | (map(select(.run_type == "iteration")) | map({key: .run_name, value: .}) | from_entries)
      + (map(select(.aggregate_name == "median")) | map({key: .run_name, value: .}) | from_entries);
# Ratio of the time of a case to that of its baseline.
def ratio($by; $name): ($name | base_of) as $b
    | if $b == null or $by[$b] == null or $by[$name] == null then null
      else ($by[$name] | ns) / ($by[$b] | ns) end;
'

jq -r "$common"'
    .context.switchyard as $sy | .context as $c
    | "# Switchyard benchmarks: \($sy.date) on \($sy.host)\(if $sy.quick then " (QUICK smoke run: not a measurement)" else "" end)",
      "",
      "- CPU: \($sy.cpu) (\($c.num_cpus) CPUs), \($sy.machine), kernel \($sy.kernel)",
      "- compiler: \($sy.compiler); flags: \($sy.cflags)",
      "- \($sy.libev), \($sy.libuv), \($sy.benchmark_library), library build type: \($sy.benchmark_library_build_type)",
      "- load average at start: \($c.load_avg | map(r(2)) | join(", "))",
      "- cells: median of \($sy.repetitions) repetitions (real time per operation; stddev in the JSON); (×N) = ratio to its baseline",
      ""' "$json"

# Rows: case (port removed) x columns: ports, then the baselines.
ports=$(jq -r '.context.switchyard.ports | join(" ")' "$json")
jq -r "$common"'
    table as $by
    | ["switch", "switch_depth", "lifecycle", "memory", "max_greenlets", "hub_sleep0",
       "hub_timers", "baseline_regswap", "baseline_swapcontext",
       "baseline_thread_handoff"] as $order
    | [$by | to_entries[] | select(.key | startswith("io_") | not) # I/O: plots/io_report.py
       | .key as $name | .value as $e | ($name | split("/")) as $p
       | (if $p[0] | startswith("baseline_") then {case: $p[0], port: "baseline", rest: []}
          else {case: $p[0], port: $p[1], rest: $p[2:]} end) as $k
       | {sort: [($order | index($k.case) // 99), ($k.rest | map(tonumber? // .))],
          key: ([$k.case] + $k.rest | join("/")), port: $k.port,
          cell: ((if $k.case == "memory" then "\($e.bytes_per_greenlet | num) B"
                  elif $k.case == "max_greenlets" then "\($e.max_greenlets | num) (\($e.label))"
                  else "\($e | ns | num) ns" end)
                 + (ratio($by; $name) | if . == null then "" else " (\(r(2))×)" end))}]
    | sort_by(.sort)[] | [.key, .port, .cell] | @tsv' "$json" |
awk -F '\t' -v ports="$ports baseline" '
    BEGIN { n = split(ports, col, " ") }
    !($1 in seen) { seen[$1] = 1; rows[++nrows] = $1 }
    { cell[$1, $2] = $3; used[$2] = 1 }
    END {
        line = "| case |"; rule = "|---|"
        for (i = 1; i <= n; i++) if (used[col[i]]) { line = line " " col[i] " |"; rule = rule "---|" }
        print line; print rule
        for (r = 1; r <= nrows; r++) {
            line = "| " rows[r] " |"
            for (i = 1; i <= n; i++) if (used[col[i]]) line = line " " cell[rows[r], col[i]] " |"
            print line
        }
    }'

echo
echo "## Targets (one run, medians)"
echo
echo "| ratio | measured | target | |"
echo "|---|---|---|---|"
jq -r "$common"'
    table as $by
    | ([["switch/asm_separate", "le", 1.3], ["switch/ucontext", "le", 1.1],
        ["switch/threads", "le", 1.1], ["switch_depth/stackcopy/0", "le", 3]])[]
    | .[0] as $name | .[1] as $op | .[2] as $goal | ratio($by; $name) as $x
    | "| \($name) ÷ \($name | base_of) | \(if $x == null then "not measured" else "\($x | r(2))×" end) | \(if $op == "le" then "≤" else "≥" end) \($goal)× | \(if $x == null then "" elif ($op == "le" and $x <= $goal) or ($op == "ge" and $x >= $goal) then "met" else "MISSED" end) |"' "$json"
