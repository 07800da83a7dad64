# lib.sh — one server process at a time, as harness/io/run.sh and check.sh start and stop
# them (sourced). Uses $tmp (a scratch folder) and $server_pin (a command prefix such as
# "taskset -c 0", or empty); sets spid (the server's pid) and sport (its port).

alive() { s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s#Z}" = "$s" ]; }

# Start `command` (word-split) and wait for the port it prints: 0, or 1 with the reason
# in $start_error. Its stderr goes to $tmp/log.
start_server() {
    : >"$tmp/port"
    # shellcheck disable=SC2086
    $server_pin $1 >"$tmp/port" 2>"$tmp/log" </dev/null &
    spid=$!
    i=0
    while [ $i -lt 300 ]; do # 15 s: Python and gevent take a while on a busy machine
        sport=$(head -n 1 "$tmp/port")
        case $sport in '' | *[!0-9]*) ;; *) return 0 ;; esac
        alive "$spid" || break
        sleep 0.05
        i=$((i + 1))
    done
    start_error="the server did not start ($1): $(tail -n 3 "$tmp/log" | tr '\n' ' ')"
    stop_server
    return 1
}

# SIGTERM, then SIGKILL after 3 s; reaped.
stop_server() {
    [ -n "$spid" ] || return 0
    kill -TERM "$spid" 2>/dev/null
    i=0
    while alive "$spid" && [ $i -lt 60 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    kill -KILL "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    spid=
}
