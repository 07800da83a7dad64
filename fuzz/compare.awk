# compare.awk — the verdict on each seed, from every runner's result lines
# ("<seed> ok <trace hash>" or "<seed> fail <why>", as fuzz_<port> and oracle.py print them).
#
#   awk -f compare.awk -v first=F -v seeds=N label=file ...     (Python's label: python)
#
# A seed passes when every runner that ran it (a runner under an emulator may run only
# the first ones) ran it to the end and every trace is the same. Prints
#   FAIL <seed> <reasons>            per failing seed
#   TABLE <runner> <programs> <crashed> <differs from the ports> <differs from python>
# The ports' trace is the one most C runners printed; a runner that differs from it
# is named, and Python differing from it is "python differs from the ports".
BEGIN {
    n = 0
    for (i = 1; i < ARGC; i++) {
        n++
        label[n] = ARGV[i]; sub(/=.*/, "", label[n])
        file = ARGV[i]; sub(/^[^=]*=/, "", file)
        if (label[n] == "python") py = n
        while ((getline line < file) > 0) {
            split(line, w, " ")
            ran[n, w[1]] = 1
            programs[n]++
            if (w[2] == "ok") hash[n, w[1]] = w[3]
            else { sub(/^[0-9]+ fail /, "", line); why[n, w[1]] = line }
        }
        close(file)
    }
    for (s = first; s < first + seeds; s++) verdict(s)
    printf "TABLE %-24s %9s %9s %16s %16s\n", "runner", "programs", "crashed", "differs (ports)", "differs (python)"
    for (r = 1; r <= n; r++)
        printf "TABLE %-24s %9d %9d %16s %16s\n", label[r], programs[r], crashed[r],
               r == py ? "-" : portdiff[r] + 0, r == py ? pydiff + 0 : (py ? vspy[r] + 0 : "-")
    exit
}

function verdict(s,    r, votes, best, bestn, bad, differs) {
    split("", votes); best = ""; bestn = 0; bad = ""; differs = ""
    for (r = 1; r <= n; r++) {
        if (!((r, s) in ran)) continue
        if (!((r, s) in hash)) {
            crashed[r]++
            bad = bad label[r] ": " why[r, s] "; "
        } else if (r != py && ++votes[hash[r, s]] > bestn) {
            bestn = votes[hash[r, s]]; best = hash[r, s]
        }
    }
    for (r = 1; r <= n; r++) {
        if (r == py || !((r, s) in hash)) continue
        if (hash[r, s] != best) { portdiff[r]++; differs = differs " " label[r] }
        if (py && (py, s) in hash && hash[r, s] != hash[py, s]) vspy[r]++
    }
    if (differs != "") bad = bad "differs from the other ports:" differs "; "
    if (py && (py, s) in hash && best != "" && hash[py, s] != best) {
        pydiff++
        bad = bad "python differs from the ports; "
    }
    if (bad == "") return
    sub(/; $/, "", bad)
    print "FAIL", s, bad
}
