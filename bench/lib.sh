# lib.sh - helpers shared by bench/throughput.sh and bench/fulltunnel.sh
# (source it after tests/netns/lib.sh: it uses its on, teardown, WORK and run prefix).
#
# What it holds:
#   log                                 a timestamped line on stderr
#   tree, ticks, rss_kib                CPU ticks and RSS of process trees
#   host_busy, wait_quiet               waiting for a quiet host (BUSY_NOTE)
#   other_ticks, other_pct              CPU used by the other jobs on the box
#   median, pctl, elapsed               numbers
#   iperf, measure                      one iperf3 run with the daemons' CPU;
#                                       a system's ping and 1- and 4-stream runs
#   round_order, fail_row               interleaved rounds; a failed system's row
#   on_signal, run_child                a part of the run in a subshell of its
#                                       own, torn down on exit and on Ctrl-C
#   colf, col, med, ratio, rows         report cells from the rows of RES
#   anchors_tables, pkgv, versions, host_desc   report text
#
# Sourcing it sets HZ, NCPU and CHILD.  The caller sets what the helpers
# read: MAX_BG, QUIET_WAIT (wait_quiet); DURATION, OMIT, PINGS,
# TARGET, DAEMONS (iperf, measure); SYS_LIST (round_order); RES, whose rows
# are "round system 1x 4x ping cpu1a cpu1b cpu4a cpu4b cpg1 cpg4 noisy
# other%" (fail_row, col); ROOT (versions).
# shellcheck shell=bash
# shellcheck disable=SC2034  # M_*, ORDER, CHILD_RC: read by the scripts

HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
CHILD=

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ------------------------------------------------------------- measuring
# tree PID...: the PIDs and all their descendants (a daemon may fork helpers).
tree() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        { kids[$2] = kids[$2] " " $1 }
        END { n = split(roots, q, " ")
              for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " ")
                  for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}
# ticks PID...: utime+stime (all threads) summed over the process trees.
ticks() {
    local p s sum=0 f
    for p in $(tree "$@"); do
        s=$(cat /proc/"$p"/stat 2>/dev/null) || continue
        s=${s##*) }                       # after "pid (comm) "
        read -ra f <<<"$s"
        sum=$((sum + f[11] + f[12]))      # fields 14, 15: utime, stime
    done
    echo "$sum"
}
# rss_kib PID: VmRSS summed over the process tree, KiB.
rss_kib() {
    local p sum=0 v
    for p in $(tree "$1"); do
        v=$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null) || true
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
# host_busy SECS: % of one core the whole host was busy over SECS.
host_busy() {
    local a b
    a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    sleep "$1"
    b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    awk -v a="$a" -v b="$b" -v n="$NCPU" 'BEGIN { split(a, x); split(b, y)
        printf "%.0f", (y[2] > x[2]) ? 100 * n * (y[1] - x[1]) / (y[2] - x[2]) : 0 }'
}
# wait_quiet: up to QUIET_WAIT s for the host to calm down; BUSY_NOTE set
# when it never did.
wait_quiet() {
    local t0=$SECONDS bg
    BUSY_NOTE=
    while :; do
        bg=$(host_busy 1)
        ((bg < MAX_BG)) && return 0
        if ((SECONDS - t0 >= QUIET_WAIT)); then
            BUSY_NOTE="host ${bg}% busy before the run"
            log "host still ${bg}% busy; measuring anyway (flagged noisy)"
            return 0
        fi
        sleep 2
    done
}

# other_ticks: "pid:starttime ticks" of every process outside this run
# (not in its namespaces, not this script's own tree, no kernel thread):
# the other jobs on this box.  Ticks include reaped children (cutime,
# cstime), so a build's short-lived compilers count too.
other_ticks() {
    local n ours='' mine
    for n in /run/netns/"weft-$T_NAME-$T_TAG-"*; do
        [[ -e $n ]] && ours+=" net:[$(stat -L -c %i "$n")]"
    done
    mine=$(tree $$ | tr '\n' ' ')
    # find fails on processes that exit while it walks /proc: no matter.
    { find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/net' -printf '%h %l\n' 2>/dev/null || true; } |
    awk -v ours="$ours" -v mine="$mine" '
        BEGIN { n = split(ours, o, " "); for (i = 1; i <= n; i++) skip[o[i]] = 1
                n = split(mine, m, " "); for (i = 1; i <= n; i++) self[m[i]] = 1 }
        $2 in skip { next }
        { split($1, p, "/"); if (p[3] in self) next
          f = "/proc/" p[3] "/stat"
          if ((getline line < f) > 0) {
              sub(/^.*\) /, "", line); split(line, v, " ")     # v[1] = field 3
              if (p[3] != 2 && v[2] != 2) print p[3] ":" v[20], v[12] + v[13] + v[14] + v[15]
          }
          close(f) }'
}
# other_pct SNAP0 SNAP1 SECONDS: % of one core the other jobs used between
# the snapshots (processes that started meanwhile count whole).
other_pct() {
    awk -v hz="$HZ" -v dt="$3" 'NR == FNR {t0[$1] = $2; next} {d += $2 - t0[$1]}
        END { printf "%.0f", (dt > 0) ? 100 * d / hz / dt : 0 }' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

# ----------------------------------------------------------------- numbers
median() {   # three significant digits; counts (>= 1000) whole
    sort -g | awk 'function p(x) { if (x >= 1000) printf "%.0f\n", x; else printf "%.3g\n", x }
        {v[NR] = $1} END { if (!NR) print "-"; else if (NR % 2) p(v[(NR + 1) / 2]);
        else p((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# pctl Q: nearest-rank Q-th percentile of the numbers on stdin.
pctl() {
    sort -g | awk -v q="$1" '{v[NR] = $1} END { if (!NR) { print "-"; exit }
        r = int((q * NR + 99) / 100); if (r < 1) r = 1; printf "%.3g\n", v[r] }'
}
# elapsed T0 T1: seconds from T0 to T1 (date +%s.%N), to the millisecond.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ------------------------------------------------------------------ iperf3
# iperf HOST [ARGS...]: one iperf3 run HOST -> TARGET, CPU of DAEMONS
# sampled around it; sets R_GBPS, R_CPU_A and R_CPU_B (DAEMONS[0]'s and
# DAEMONS[1]'s, % of one core), R_CPG (CPU-s/Gbit, both together), and
# R_OTHER (% of one core other jobs on the host used meanwhile).
iperf() {
    local host=$1 t0 t1 a0 a1 b0 b1 o0 o1 out=$WORK/iperf.out rc=0
    shift
    R_GBPS=FAIL R_CPU_A=- R_CPU_B=- R_CPG=- R_OTHER=0
    o0=$(other_ticks)
    t0=$(date +%s.%N)
    if ((${#DAEMONS[@]})); then a0=$(ticks "${DAEMONS[0]}"); b0=$(ticks "${DAEMONS[1]}"); fi
    on "$host" timeout $((DURATION + OMIT + 30)) iperf3 -c "$TARGET" -t "$DURATION" -O "$OMIT" \
        --connect-timeout 5000 -f g "$@" >"$out" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    if ((${#DAEMONS[@]})); then a1=$(ticks "${DAEMONS[0]}"); b1=$(ticks "${DAEMONS[1]}"); fi
    o1=$(other_ticks)
    R_OTHER=$(other_pct "$o0" "$o1" "$(elapsed "$t0" "$t1")")
    if ((rc != 0)); then
        log "iperf3 $* failed: $(tail -n 2 "$out" | tr '\n' ' ')"
        return 0
    fi
    R_GBPS=$(awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i + 1) == "Gbits/sec") v = $i} END {print v}' "$out")
    [[ -n $R_GBPS ]] || R_GBPS=FAIL
    ((${#DAEMONS[@]})) || return 0
    read -r R_CPU_A R_CPU_B R_CPG < <(awk -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v hz="$HZ" \
        -v t0="$t0" -v t1="$t1" -v g="$R_GBPS" 'BEGIN { dt = t1 - t0
            ca = a / hz / dt; cb = b / hz / dt
            printf "%.0f %.0f %s\n", 100 * ca, 100 * cb, (g > 0) ? sprintf("%.3f", (ca + cb) / g) : "-" }')
}
# measure ROUND HOST: PINGS pings at 10 ms from HOST to TARGET, then iperf
# with 1 and with 4 streams (4 first in even rounds, so that slow drift
# cancels out).  Sets M_PING (median ms); M_G1, M_C1A, M_C1B, M_CPG1 and
# M_G4, M_C4A, M_C4B, M_CPG4 (iperf's R_* of each run); M_OTHER, the most
# other jobs used during either run.
measure() {
    local t order
    M_OTHER=0
    M_PING=$(on "$2" timeout $((PINGS / 50 + 30)) ping -n -c "$PINGS" -i 0.01 -W 1 "$TARGET" 2>/dev/null \
        | sed -n 's/.*time=\([0-9.]*\).*/\1/p' | median)
    order="1 4"; (($1 % 2)) || order="4 1"
    for t in $order; do
        if [[ $t == 1 ]]; then
            iperf "$2"
            M_G1=$R_GBPS M_C1A=$R_CPU_A M_C1B=$R_CPU_B M_CPG1=$R_CPG
        else
            iperf "$2" -P 4
            M_G4=$R_GBPS M_C4A=$R_CPU_A M_C4B=$R_CPU_B M_CPG4=$R_CPG
        fi
        ((R_OTHER <= M_OTHER)) || M_OTHER=$R_OTHER
    done
}

# ------------------------------------------------------------------ rounds
# round_order ROUND: ORDER = SYS_LIST, reversed in even rounds.
round_order() {
    local i
    ORDER=("${SYS_LIST[@]}")
    if (($1 % 2 == 0)); then
        ORDER=(); for ((i = ${#SYS_LIST[@]} - 1; i >= 0; i--)); do ORDER+=("${SYS_LIST[i]}"); done
    fi
}
# fail_row ROUND SYSTEM: the row of RES for a system that could not be measured.
fail_row() { printf '%s\t%s\tFAIL\tFAIL\t-\t-\t-\t-\t-\t-\t-\t0\t-\n' "$1" "$2" >>"$RES"; }

# Ctrl-C: stop the running part's subshell first, so that it starts
# nothing more; the EXIT trap then removes what it left by this run's prefix.
# shellcheck disable=SC2317  # called by the trap
on_signal() {
    [[ -z $CHILD ]] || { kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; }
    exit 130
}
# run_child CMD...: CMD in a subshell of its own, torn down on its way out;
# in the background so that Ctrl-C is handled at once (trap on_signal INT
# TERM).  Its exit status in CHILD_RC.
run_child() {
    set +e
    (set -e; trap teardown EXIT; "$@") &
    CHILD=$!
    wait "$CHILD"; CHILD_RC=$?
    CHILD=
    set -e
}

# ------------------------------------------------------------------ report
# colf FILE NOISYCOL SYS N: column N of SYS's rows in FILE, only the clean
# rounds (NOISYCOL 0) if there are any; numbers only.
colf() {
    awk -F'\t' -v s="$3" -v c="$4" -v nc="$2" -v clean="$(awk -F'\t' -v s="$3" -v nc="$2" '$2 == s && !$nc' "$1" | wc -l)" \
        '$2 == s && (!clean || !$nc) && $c ~ /^[0-9.]+$/ {print $c}' "$1"
}
col() { colf "$RES" 12 "$@"; }   # col SYS N
med() { col "$1" "$2" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "-" }'; }
# rows FILE NOISYCOL SYS: "N" rounds, with " (M noisy)" when some were.
rows() {
    local n m
    n=$(awk -F'\t' -v s="$3" '$2 == s' "$1" | wc -l)
    m=$(awk -F'\t' -v s="$3" -v nc="$2" '$2 == s && $nc' "$1" | wc -l)
    printf '%s%s' "$n" "$( ((m)) && echo " ($m noisy)")"
}
# anchors_tables FILE: the last "## `anchors.sh ...` at DATE" section of a
# results file of ../shared/bench/anchors.sh, its heading and the lines of
# its tables (the per-round data is not a table); nothing if it has none.
anchors_tables() {
    awk '/^## `anchors\.sh / { h = $0; t = ""; gap = 0; next }
        h != "" && /^\|/ { if (gap && t != "") t = t "\n"; t = t $0 "\n"; gap = 0; next }
        { gap = 1 }
        END { if (h != "" && t != "") printf "%s\n%s", h, t }' "$1"
}
pkgv() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
# versions WEFT: the report's line of versions; WEFT, what of weft ran.
versions() {
    printf -- '- weft %s (%s); wireguard-go %s; iperf3 %s; kernel %s\n' \
        "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')" "$1" \
        "$(pkgv wireguard-go)" "$(pkgv iperf3)" "$(uname -r)"
}
# host_desc: "N x CPU model, M MiB RAM".
host_desc() {
    printf '%s x %s, %s MiB RAM' "$NCPU" "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
        "$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
}
