# merge_rounds.jq — the echo entries of several rounds (harness/io/run.sh, IO_ROUNDS > 1)
# as one point each: `jq -s -f merge_rounds.jq entries`, an array of entries in, out.
#
# A point's iteration entries (one per slice, from every round) are renumbered as its
# repetitions; its mean / median / stddev entries are computed over all of them, in the
# shape io_loadgen gives them (real_time and cpu_time follow from the aggregated round
# trips/s and server CPU per round trip, as there). A point with no measurement in any
# round keeps its first error entry; one measured in some round drops its errors.

def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                   else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def mean: add / length;
def stddev: mean as $m | if length > 1
                         then (map((. - $m) * (. - $m)) | add / (length - 1) | sqrt)
                         else 0 end;

# Fields that describe the point or the repetition, not a measured figure.
def fixed: ["repetitions", "repetition_index", "threads", "connections", "message_bytes",
            "in_flight", "window_s", "setup_s", "warmup_s", "iterations", "real_time",
            "cpu_time"];

def aggregate($name; $reps):
    ($reps | map(to_entries | map(select((.value | type) == "number"
                                         and (.key as $k | fixed | index($k) | not))))
            | add | group_by(.key)
            | map({key: .[0].key, value: (map(.value) | if $name == "median" then median
                                                       elif $name == "mean" then mean
                                                       else stddev end)})
            | from_entries) as $figures
    | $reps[0] + $figures
    | .name = ($reps[0].run_name + "_" + $name) | .run_type = "aggregate"
    | .aggregate_name = $name | .aggregate_unit = "time"
    | .repetitions = ($reps | length) | .repetition_index = 0
    | .iterations = ($reps | length)
    | .real_time = (if (.round_trips_per_s // 0) > 0 then 1e9 / .round_trips_per_s else 0 end)
    | .cpu_time = ((.server_cpu_us_per_rt // 0) * 1e3);

group_by(.run_name) | map(
    [.[] | select(.run_type == "iteration" and (.error_occurred | not))] as $reps
    | if ($reps | length) == 0 then [.[] | select(.error_occurred)][0:1]
      else ($reps | to_entries
                  | map(.value + {repetition_index: .key, repetitions: ($reps | length)}))
           + [aggregate("mean"; $reps), aggregate("median"; $reps), aggregate("stddev"; $reps)]
      end
) | add // []
