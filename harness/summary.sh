#!/bin/sh
# summary.sh results.json — the Markdown summary of a merged results file: one row per
# case, one column per port (plus the baselines), each cell the median over the
# repetitions with, in parentheses, its ratio to its baseline; then the targets.
#
# Ratios (fixed with the plots, see harness/README.md):
#   switch/asm_separate ÷ baseline_regswap, switch/ucontext ÷ baseline_swapcontext,
#   switch/threads ÷ baseline_thread_handoff, switch_depth/stackcopy/0 ÷ switch/asm_separate,
#   switch/boost_fcontext ÷ baseline_fcontext, ring[_shuffled]/<port>/<N> ÷ ring/<port>/2.
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
    elif . == "switch/boost_fcontext" then "baseline_fcontext"
    elif test("^ring(_shuffled)?/[^/]+/[0-9]+$") then (split("/") | "ring/\(.[1])/2")
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
    | ["switch", "switch_depth", "ring", "ring_shuffled", "lifecycle", "memory",
       "max_greenlets", "hub_sleep0", "hub_timers", "baseline_regswap",
       "baseline_fcontext", "baseline_swapcontext", "baseline_thread_handoff"] as $order
    # A case beyond the limit of a port shows the limit (run.sh: "port limit: ...").
    | ([.benchmarks[] | select(.error_occurred and ((.error_message // "") | startswith("port limit:")))
        | {key: .run_name, value: {limit: (.error_message | sub("^port limit: "; "") | sub(" \\(.*"; ""))}}]
       | from_entries) as $limits
    | [($limits + $by) | to_entries[] | select(.key | startswith("io_") | not) # I/O: plots/io_report.py
       | .key as $name | .value as $e | ($name | split("/")) as $p
       | (if $p[0] | startswith("baseline_") then {case: $p[0], port: "baseline", rest: []}
          elif ($p[0] | startswith("peer_")) then
              {case: ($p[0] | sub("^peer_"; "")), port: "peer", rest: $p[2:], peer: $p[1]}
          else {case: $p[0], port: $p[1], rest: $p[2:]} end) as $k
       | {sort: [($order | index($k.case) // 99), ($k.rest | map(tonumber? // .))],
          key: ([$k.case] + $k.rest | join("/")), port: $k.port,
          cell: ((if $e.limit then "limit: \($e.limit)"
                  elif $k.case == "memory" then "\($e.bytes_per_greenlet | num) B"
                  elif $k.case == "max_greenlets" then "\($e.max_greenlets | num) (\($e.label))"
                  else "\($e | ns | num) ns" end)
                 + (if $k.peer then " (\($k.peer))" else "" end)
                 + (ratio($by; $name) | if . == null then "" else " (\(r(2))×)" end))}]
    | sort_by(.sort)[] | [.key, .port, .cell] | @tsv' "$json" |
awk -F '\t' -v ports="$ports baseline peer" '
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
    | ([["switch/asm_separate", "le", 1.15], ["switch/ucontext", "le", 1.1],
        ["switch/threads", "le", 1.1], ["switch_depth/stackcopy/0", "le", 2],
        ["ring/asm_separate/30000", "le", 2.5]])[]
    | .[0] as $name | .[1] as $op | .[2] as $goal | ratio($by; $name) as $x
    | "| \($name) ÷ \($name | base_of) | \(if $x == null then "not measured" else "\($x | r(2))×" end) | \(if $op == "le" then "≤" else "≥" end) \($goal)× | \(if $x == null then "" elif ($op == "le" and $x <= $goal) or ($op == "ge" and $x >= $goal) then "met" else "MISSED" end) |"' "$json"
# Targets that are not a case's ratio to its own baseline (issue 12): asm_separate beside
# the fcontext port, and the memory figures.
jq -r "$common"'
    table as $by
    | def row($text; $x; $op; $goal; $unit):
        "| \($text) | \(if $x == null then "not measured" else "\($x | r(2))\($unit)" end) | \(if $op == "le" then "≤" else "≥" end) \($goal)\($unit) | \(if $x == null then "" elif ($op == "le" and $x <= $goal) or ($op == "ge" and $x >= $goal) then "met" else "MISSED" end) |";
      (if $by["switch/asm_separate"] and $by["switch/boost_fcontext"]
       then ($by["switch/asm_separate"] | ns) / ($by["switch/boost_fcontext"] | ns) else null end) as $fc
    | row("switch/asm_separate ÷ switch/boost_fcontext"; $fc; "le"; 1.05; "×"),
      row("memory/stackcopy, bytes per suspended greenlet"; $by["memory/stackcopy"].bytes_per_greenlet; "le"; 300; " B"),
      ($by | keys[] | select(startswith("max_greenlets/")) | select(test("^max_greenlets/[^/]+$"))
       | select(. != "max_greenlets/stackcopy")
       | if ($by[.].label | startswith("cap")) and $by[.].max_greenlets < 60000
         then "| \(.) | \($by[.].max_greenlets) (\($by[.].label): the run stopped first) | ≥ 60000 | |"
         else row("\(.) (guard gaps; limit: \($by[.].label))"; $by[.].max_greenlets; "ge"; 60000; "") end)' "$json"
