/*
 * loadgen.c — io_loadgen: the external load generator of the I/O benchmarks. One
 * invocation opens N connections to a server already listening and measures a point per
 * message size asked for (--size 64,1024,16384: the sizes in turn over the same
 * connections, every echo of one size back before the next begins), and prints the
 * results as Google Benchmark-shaped JSON entries on stdout, so harness/run.sh merges
 * them with the rest of the run.
 *
 *   setup    N connections opened in batches (at most --batch connecting at once, and at
 *            most half of net.core.somaxconn, so the server's accept queue never
 *            overflows and no SYN waits for a retransmit);
 *            each batch does one echo round trip before the next opens: every connection
 *            is accepted and served before the clock starts
 *   warm-up  every connection keeps K messages in flight (--inflight) for --warmup s, and
 *            until every connection has completed a round trip since the first messages
 *            went out (at 10 000 connections one round takes longer than any fixed span)
 *   window   --window s, cut into --slices equal slices; a round trip counts in the slice
 *            in which its echo completes, and only inside the window; each slice is
 *            reported as one repetition (round trips/s, latency percentiles from a
 *            log-bucketed histogram, server CPU per round trip), plus median, mean and
 *            stddev over the slices
 *   drain    no new message once the window is over; every echo in flight comes back
 *            (then the next size: warm-up, window, drain)
 *   end      every connection closed with a reset (SO_LINGER 0: no TIME_WAIT piles up
 *            over a run of many points)
 *
 * Every byte echoed is checked against the byte sent at that position of that
 * connection's stream (a pseudo-random pattern, different per connection): a mismatch
 * is reported with its position and fails the run (exit status 3). A point the server
 * cannot reach (refused or reset connections, a server that stops answering for
 * --stall s, an open-file limit below N) is reported as an error entry with the reason,
 * the server's last line on stderr appended (--server-log): exit status 1.
 *
 * Server CPU: the server process's CPU-time clock (clock_getcpuclockid: user + system,
 * every thread, in ns) read at each slice boundary; the user/system split from
 * /proc/<pid>/stat. On a 2-CPU machine the load generator shares the machine, so CPU
 * per round trip, not round trips per second, is the figure that says what a server
 * costs; the load generator's own CPU use is reported beside it (near 100 %: the point
 * was bound by the load generator, not the server).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "histogram.h"
#include "../procfs.h"

#define MAX_INFLIGHT 64
#define MAX_SLICES 50
#define MAX_SIZES 8
#define MAX_MESSAGE (1 << 20)
#define PERIOD 65521u /* pattern period: prime, so no message size lines up with it */
#define CHUNK 65536u  /* largest single send or recv */
#define FD_MARGIN 16  /* descriptors a process needs besides its connections */
#define BATCH 1000    /* connections opened at once, by default */

enum { EXIT_MEASURED = 0, EXIT_UNREACHABLE = 1, EXIT_USAGE = 2, EXIT_MISMATCH = 3 };

/* ---- options ------------------------------------------------------------------------ */

static struct {
    const char *host, *name, *server_log;
    int port, conns, inflight, slices, batch, nsizes;
    long sizes[MAX_SIZES];
    double warmup, window, setup_timeout, stall;
    pid_t server_pid;
} opt = {.host = "127.0.0.1", .conns = 100, .inflight = 1, .slices = 4, .nsizes = 1,
         .sizes = {64}, .warmup = 0.2, .window = 0.8, .setup_timeout = 60, .stall = 10};

/* ---- connections -------------------------------------------------------------------- */

enum { CONNECTING, OPEN };

typedef struct conn {
    int fd;
    unsigned char state;
    unsigned char want_out; /* EPOLLOUT is registered: a write was cut short */
    unsigned char cycled;   /* a round trip completed since the warm-up began */
    unsigned base;          /* where this connection's stream starts in the pattern */
    uint64_t sent;          /* bytes of the stream written */
    uint64_t goal;          /* bytes of the stream to write (messages started x size) */
    uint64_t recvd;         /* bytes of the stream echoed and checked */
    uint64_t done_end;      /* where the last completed message ended */
    uint64_t completed;     /* messages completed */
    unsigned ts_head, ts_n; /* the messages in flight: a ring of --inflight entries */
    uint64_t *ts;           /* ... when each was started */
    uint64_t *end;          /* ... where each ends in the stream */
} conn;

static conn *conns;
static uint64_t *ts_store, *end_store;
static long msg_size;     /* the size being measured */
static uint64_t in_flight; /* messages in flight over all connections */
static char point_name[512]; /* --name with {size} replaced */
static int epfd = -1;
static unsigned char pattern[PERIOD + CHUNK]; /* pattern[i] == pattern[i % PERIOD] */
static unsigned char rbuf[CHUNK];

/* The phase decides what a completed round trip does. */
enum { SETUP, MEASURE };
static int phase;
static int primed;                /* SETUP: connections of this batch whose echo came back */
static int cycled;                /* MEASURE: connections with a round trip since warm-up began */
static uint64_t t_start, t_end, slice_ns; /* the window (UINT64_MAX while warming up) */
static uint64_t setup_ns, warmup_ns;      /* how long those took */
static uint64_t last_progress_ns; /* when the last round trip completed */

typedef struct slice {
    uint64_t round_trips;
    histogram hist;
    uint64_t t_ns;                /* when the boundary at its start was sampled */
    int64_t server_cpu_ns;        /* the server's CPU clock then (-1: unreadable) */
    int64_t client_cpu_ns;
    long long server_user, server_system; /* /proc/<pid>/stat ticks (-1: unreadable) */
} slice;
static slice slices[MAX_SLICES + 1]; /* [i] = slice i; [slices] = the window's end */

static char failure[1024];
static int failure_status;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Record why the point failed (the first reason wins); returns -1 for `return fail()`. */
static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int status, const char *fmt, ...)
{
    if (!failure[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(failure, sizeof failure, fmt, ap);
        va_end(ap);
        failure_status = status;
    }
    return -1;
}

static void make_pattern(void)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL; /* xorshift64: bytes that repeat only every PERIOD */
    for (unsigned i = 0; i < PERIOD; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pattern[i] = (unsigned char)(x >> 32);
    }
    for (unsigned i = PERIOD; i < sizeof pattern; i++) /* forward: it overlaps itself */
        pattern[i] = pattern[i - PERIOD];
}

static const unsigned char *stream_at(const conn *c, uint64_t offset)
{
    return pattern + (c->base + offset) % PERIOD;
}

static int watch(conn *c, int index, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)index};
    if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
        return fail(EXIT_UNREACHABLE, "epoll_ctl: %s", strerror(errno));
    return 0;
}

/* Write what is due; EPOLLOUT is watched only while a write is cut short. */
static int flush(conn *c, int index)
{
    while (c->sent < c->goal) {
        uint64_t left = c->goal - c->sent;
        size_t len = left < CHUNK ? (size_t)left : CHUNK;
        ssize_t n = send(c->fd, stream_at(c, c->sent), len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out) {
                c->want_out = 1;
                return watch(c, index, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
            }
            return 0;
        }
        return fail(EXIT_UNREACHABLE, "connection %d: send: %s", index + 1,
                    n < 0 ? strerror(errno) : "sent nothing");
    }
    if (c->want_out) {
        c->want_out = 0;
        return watch(c, index, EPOLLIN, EPOLL_CTL_MOD);
    }
    return 0;
}

static int start_message(conn *c, int index, uint64_t now)
{
    unsigned slot = (c->ts_head + c->ts_n) % (unsigned)opt.inflight;
    c->goal += (uint64_t)msg_size;
    c->ts[slot] = now;
    c->end[slot] = c->goal;
    c->ts_n++;
    in_flight++;
    return flush(c, index);
}

static void round_trip_done(conn *c, int index, uint64_t now)
{
    uint64_t sent_at = c->ts[c->ts_head];
    c->done_end = c->end[c->ts_head];
    c->completed++;
    c->ts_head = (c->ts_head + 1) % (unsigned)opt.inflight;
    c->ts_n--;
    in_flight--;
    last_progress_ns = now;
    if (phase == SETUP) {
        primed++;
        return;
    }
    if (!c->cycled) {
        c->cycled = 1;
        cycled++;
    }
    if (now >= t_start && now < t_end) {
        slice *s = &slices[(now - t_start) / slice_ns];
        s->round_trips++;
        hist_record(&s->hist, now - sent_at);
    }
    if (now < t_end)
        start_message(c, index, now);
}

static int check_echo(const conn *c, int index, const unsigned char *got, size_t n)
{
    const unsigned char *want = stream_at(c, c->recvd);
    if (c->recvd + n > c->sent)
        return fail(EXIT_MISMATCH,
                    "echo mismatch: connection %d received %llu bytes, more than the %llu it sent",
                    index + 1, (unsigned long long)(c->recvd + n), (unsigned long long)c->sent);
    if (memcmp(got, want, n) == 0)
        return 0;
    size_t i = 0;
    while (got[i] == want[i])
        i++;
    uint64_t at = c->recvd + i, start = c->done_end, number = c->completed + 1;
    for (unsigned k = 0; k < c->ts_n; k++, number++) { /* the message holding byte `at` */
        uint64_t end = c->end[(c->ts_head + k) % (unsigned)opt.inflight];
        if (at < end) {
            return fail(EXIT_MISMATCH,
                        "echo mismatch: connection %d, byte %llu of its stream (message %llu, byte "
                        "%llu of %llu): sent 0x%02x, received 0x%02x",
                        index + 1, (unsigned long long)at, (unsigned long long)number,
                        (unsigned long long)(at - start), (unsigned long long)(end - start),
                        want[i], got[i]);
        }
        start = end;
    }
    return fail(EXIT_MISMATCH, "echo mismatch: connection %d, byte %llu of its stream", index + 1,
                (unsigned long long)at);
}

static int on_readable(conn *c, int index)
{
    for (;;) {
        ssize_t n = recv(c->fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
        if (n > 0) {
            if (check_echo(c, index, rbuf, (size_t)n) != 0)
                return -1;
            c->recvd += (uint64_t)n;
            if (c->ts_n && c->recvd >= c->end[c->ts_head]) {
                uint64_t now = now_ns();
                while (c->ts_n && c->recvd >= c->end[c->ts_head])
                    round_trip_done(c, index, now);
            }
            if ((size_t)n < sizeof rbuf)
                return 0; /* drained: level-triggered epoll says when there is more */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return fail(EXIT_UNREACHABLE, "connection %d: %s after %llu of %llu bytes echoed",
                    index + 1,
                    n == 0 ? "the server closed it" : strerror(errno),
                    (unsigned long long)c->recvd, (unsigned long long)c->sent);
    }
}

static int on_connected(conn *c, int index)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        return fail(EXIT_UNREACHABLE, "connection %d: connect: %s", index + 1, strerror(err));
    c->state = OPEN;
    if (watch(c, index, EPOLLIN, EPOLL_CTL_MOD) != 0)
        return -1;
    return start_message(c, index, now_ns()); /* the priming round trip */
}

/* Serve events until done() says so (then 0) or the clock reaches `until`: with done
 * NULL that is the goal (0), otherwise a failure ("<what>: not done in time"). A
 * failure recorded on the way, or no round trip for --stall s, is -1. */
static int pump(int (*done)(void), uint64_t until, const char *what)
{
    struct epoll_event evs[512];
    while (!failure[0] && !(done && done())) {
        uint64_t now = now_ns();
        if (now >= until)
            return done ? fail(EXIT_UNREACHABLE, "%s: not done within %g s", what,
                               opt.setup_timeout)
                        : 0;
        if (now - last_progress_ns > (uint64_t)(opt.stall * 1e9))
            return fail(EXIT_UNREACHABLE, "%s: no round trip completed for %g s", what, opt.stall);
        uint64_t wait = until - now;
        int ms = wait > 100000000ULL ? 100 : (int)((wait + 999999) / 1000000);
        int n = epoll_wait(epfd, evs, 512, ms);
        if (n < 0 && errno != EINTR)
            return fail(EXIT_UNREACHABLE, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n && !failure[0]; i++) {
            int index = (int)evs[i].data.u32;
            conn *c = &conns[index];
            if (c->state == CONNECTING) {
                on_connected(c, index);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(c, index);
            if (!failure[0] && (evs[i].events & EPOLLOUT))
                flush(c, index);
        }
    }
    return failure[0] ? -1 : 0;
}

/* ---- setup --------------------------------------------------------------------------- */

static int batch_size;
static int batch_primed(void) { return primed == batch_size; }

static int open_conn(int index, const struct sockaddr_in *sa)
{
    conn *c = &conns[index];
    c->base = (unsigned)(((uint64_t)index * 7919u) % PERIOD);
    c->ts = ts_store + (size_t)index * (size_t)opt.inflight;
    c->end = end_store + (size_t)index * (size_t)opt.inflight;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return fail(EXIT_UNREACHABLE, "connection %d: socket: %s", index + 1, strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS)
        return fail(EXIT_UNREACHABLE, "connection %d: connect: %s", index + 1, strerror(errno));
    return watch(c, index, EPOLLOUT, EPOLL_CTL_ADD);
}

static int setup(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1)
        return fail(EXIT_USAGE, "--host %s is not a numeric IPv4 address", opt.host);
    uint64_t deadline = now_ns() + (uint64_t)(opt.setup_timeout * 1e9);
    phase = SETUP;
    if (!opt.batch) {
        long long somaxconn = procfs_read_number("/proc/sys/net/core/somaxconn");
        opt.batch = somaxconn > 1 && somaxconn / 2 < BATCH ? (int)(somaxconn / 2) : BATCH;
    }
    for (int first = 0; first < opt.conns; first += opt.batch) {
        batch_size = opt.conns - first < opt.batch ? opt.conns - first : opt.batch;
        primed = 0;
        for (int i = first; i < first + batch_size; i++)
            if (open_conn(i, &sa) != 0)
                return -1;
        last_progress_ns = now_ns();
        if (pump(batch_primed, deadline, "opening the connections") != 0)
            return -1;
    }
    return 0;
}

/* ---- the window ---------------------------------------------------------------------- */

static void sample(slice *s, clockid_t server_clock, int have_clock)
{
    struct timespec ts;
    s->t_ns = now_ns();
    s->server_cpu_ns = -1;
    if (have_clock && clock_gettime(server_clock, &ts) == 0)
        s->server_cpu_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    s->client_cpu_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    s->server_user = s->server_system = -1;
    if (opt.server_pid > 0 &&
        procfs_cpu_ticks(opt.server_pid, &s->server_user, &s->server_system) == 0 &&
        s->server_cpu_ns < 0) /* no CPU clock: the ticks, at 10 ms resolution */
        s->server_cpu_ns =
            (s->server_user + s->server_system) * (1000000000LL / sysconf(_SC_CLK_TCK));
}

static uint64_t warm_until;
static int warmed_up(void) { return cycled == opt.conns && now_ns() >= warm_until; }

static int drained(void) { return in_flight == 0; }

/* One point: msg_size over the open connections. */
static int measure(void)
{
    clockid_t clk = 0;
    int have_clock = opt.server_pid > 0 && clock_getcpuclockid(opt.server_pid, &clk) == 0;
    phase = MEASURE;
    memset(slices, 0, sizeof slices);
    cycled = 0;
    for (int i = 0; i < opt.conns; i++)
        conns[i].cycled = 0;
    t_start = t_end = UINT64_MAX; /* nothing counts yet; every echo sends the next message */
    uint64_t begin = now_ns();
    last_progress_ns = begin;
    for (int i = 0; i < opt.conns && !failure[0]; i++)
        for (int k = 0; k < opt.inflight && !failure[0]; k++)
            start_message(&conns[i], i, begin);
    /* The clock of the warm-up starts once the first messages are out (10 000 x 16 KiB
     * take a while to write). */
    warm_until = now_ns() + (uint64_t)(opt.warmup * 1e9);
    if (pump(warmed_up, warm_until + (uint64_t)(opt.setup_timeout * 1e9), "warming up") != 0)
        return -1;
    slice_ns = (uint64_t)(opt.window * 1e9 / opt.slices);
    t_start = now_ns();
    t_end = t_start + slice_ns * (uint64_t)opt.slices;
    warmup_ns = t_start - begin;
    sample(&slices[0], clk, have_clock);
    /* Each slice: serve until its end, sample the clocks there. */
    for (int s = 1; s <= opt.slices; s++) {
        if (pump(NULL, t_start + slice_ns * (uint64_t)s, "measuring") != 0)
            return -1;
        sample(&slices[s], clk, have_clock);
    }
    /* No message starts after the window: wait for those in flight. */
    return pump(drained, now_ns() + (uint64_t)(opt.setup_timeout * 1e9), "draining");
}

static void close_all(void)
{
    struct linger lg = {1, 0}; /* reset: no TIME_WAIT left behind */
    for (int i = 0; i < opt.conns; i++)
        if (conns[i].fd >= 0) {
            setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(conns[i].fd);
            conns[i].fd = -1;
        }
}

/* ---- results ------------------------------------------------------------------------- */

/* The figures of a slice, in the order of METRICS; NAN when not measured. */
enum { M_RATE, M_P50, M_P90, M_P99, M_P999, M_SERVER_US, M_SERVER_UTIL, M_SERVER_SYS,
       M_CLIENT_UTIL, NMETRICS };
static const char *const METRICS[NMETRICS] = {
    "round_trips_per_s", "p50_us", "p90_us", "p99_us", "p999_us", "server_cpu_us_per_rt",
    "server_cpu_util", "server_sys_share", "client_cpu_util"};

static void figures(int i, double *m)
{
    const slice *s = &slices[i], *e = &slices[i + 1];
    double secs = (double)slice_ns / 1e9, sampled = (double)(e->t_ns - s->t_ns) / 1e9;
    double rts = (double)s->round_trips;
    m[M_RATE] = rts / secs;
    m[M_P50] = hist_quantile_ns(&s->hist, 0.50) / 1e3;
    m[M_P90] = hist_quantile_ns(&s->hist, 0.90) / 1e3;
    m[M_P99] = hist_quantile_ns(&s->hist, 0.99) / 1e3;
    m[M_P999] = hist_quantile_ns(&s->hist, 0.999) / 1e3;
    m[M_SERVER_UTIL] = s->server_cpu_ns >= 0 && e->server_cpu_ns >= 0 && sampled > 0
                           ? (double)(e->server_cpu_ns - s->server_cpu_ns) / 1e9 / sampled
                           : NAN;
    /* CPU over the sampled span, scaled to the slice: the samples are taken within a
     * millisecond of the boundaries, the round trips counted at the boundaries. */
    m[M_SERVER_US] = rts > 0 ? m[M_SERVER_UTIL] * secs / rts * 1e6 : NAN;
    long long du = e->server_user - s->server_user, ds = e->server_system - s->server_system;
    m[M_SERVER_SYS] = s->server_user >= 0 && e->server_user >= 0 && du + ds > 0
                          ? (double)ds / (double)(du + ds)
                          : NAN;
    m[M_CLIENT_UTIL] = sampled > 0 ? (double)(e->client_cpu_ns - s->client_cpu_ns) / 1e9 / sampled
                                   : NAN;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* The fields every entry of the point has: its name and the point's parameters. */
static void entry_head(const char *run_type, const char *aggregate, int repetitions, int index)
{
    static int printed;
    printf("%s  {\"name\": ", printed++ ? ",\n" : "");
    if (aggregate) {
        char name[600];
        snprintf(name, sizeof name, "%s_%s", point_name, aggregate);
        json_string(name);
    } else {
        json_string(point_name);
    }
    printf(", \"run_name\": ");
    json_string(point_name);
    printf(", \"run_type\": \"%s\", \"repetitions\": %d, \"repetition_index\": %d, \"threads\": 1",
           run_type, repetitions, index);
    if (aggregate)
        printf(", \"aggregate_name\": \"%s\", \"aggregate_unit\": \"time\"", aggregate);
    printf(", \"connections\": %d, \"message_bytes\": %ld, \"in_flight\": %d, \"window_s\": %g"
           ", \"setup_s\": %.3f, \"warmup_s\": %.3f",
           opt.conns, msg_size, opt.inflight, opt.window, setup_ns / 1e9, warmup_ns / 1e9);
}

static void entry_figures(const double *m, double iterations)
{
    /* real_time: wall time per round trip; cpu_time: the server's CPU per round trip. */
    double wall = m[M_RATE] > 0 ? 1e9 / m[M_RATE] : 0;
    double cpu = isnan(m[M_SERVER_US]) ? 0 : m[M_SERVER_US] * 1e3;
    printf(", \"iterations\": %.0f, \"real_time\": %.9g, \"cpu_time\": %.9g, \"time_unit\": \"ns\"",
           iterations, wall, cpu);
    for (int k = 0; k < NMETRICS; k++)
        if (!isnan(m[k]))
            printf(", \"%s\": %.9g", METRICS[k], m[k]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_results(void)
{
    static double m[MAX_SLICES][NMETRICS];
    double agg[3][NMETRICS];
    int n = opt.slices;
    for (int i = 0; i < n; i++) {
        figures(i, m[i]);
        entry_head("iteration", NULL, n, i);
        entry_figures(m[i], (double)slices[i].round_trips);
        printf("}");
    }
    for (int k = 0; k < NMETRICS; k++) {
        double v[MAX_SLICES], sum = 0, sq = 0;
        int got = 0;
        for (int i = 0; i < n; i++)
            if (!isnan(m[i][k]))
                v[got++] = m[i][k];
        if (!got) {
            agg[0][k] = agg[1][k] = agg[2][k] = NAN;
            continue;
        }
        qsort(v, (size_t)got, sizeof *v, cmp_double);
        for (int i = 0; i < got; i++)
            sum += v[i];
        double mean = sum / got;
        for (int i = 0; i < got; i++)
            sq += (v[i] - mean) * (v[i] - mean);
        agg[0][k] = mean;
        agg[1][k] = got % 2 ? v[got / 2] : (v[got / 2 - 1] + v[got / 2]) / 2;
        agg[2][k] = got > 1 ? sqrt(sq / (got - 1)) : 0;
    }
    static const char *const names[3] = {"mean", "median", "stddev"};
    for (int a = 0; a < 3; a++) {
        entry_head("aggregate", names[a], n, 0);
        entry_figures(agg[a], n);
        printf("}");
    }
    /* The progress line: the medians. */
    const double *md = agg[1];
    fprintf(stderr,
            "%-40s %8.0f rt/s  p50 %8.1f p99 %8.1f us  server %6.2f us/rt %3.0f%% CPU %3.0f%% sys"
            "  loadgen %3.0f%% CPU  (setup %.1f s, warm-up %.1f s)\n",
            point_name, md[M_RATE], md[M_P50], md[M_P99], md[M_SERVER_US], md[M_SERVER_UTIL] * 100,
            md[M_SERVER_SYS] * 100, md[M_CLIENT_UTIL] * 100, setup_ns / 1e9, warmup_ns / 1e9);
}

/* The last non-empty line of the server's stderr, for a failure's reason. */
static void server_said(char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = opt.server_log ? fopen(opt.server_log, "r") : NULL;
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        size_t n = strlen(line);
        if (!n)
            continue;
        n = n < len ? n : len - 1;
        memcpy(out, line, n);
        out[n] = '\0';
    }
    fclose(f);
}

static int server_exited(void)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)opt.server_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && (p[2] == 'Z' || p[2] == 'X'); /* a zombie: exited, not yet reaped */
}

/* The entry of a point that failed; `before` > 0: not measured, an earlier size failed. */
static int print_failure(long before)
{
    char said[400], message[2048], earlier[64] = "";
    server_said(said, sizeof said);
    if (before)
        snprintf(earlier, sizeof earlier, "not measured: the %ld-byte point failed: ", before);
    snprintf(message, sizeof message, "%s%s%s%s%s", earlier, failure,
             opt.server_pid > 0 && server_exited() ? "; the server process exited" : "",
             said[0] ? "; server's last words: " : "", said);
    entry_head("iteration", NULL, 1, 0);
    printf(", \"iterations\": 0, \"real_time\": 0, \"cpu_time\": 0, \"time_unit\": \"ns\", "
           "\"error_occurred\": true, \"error_message\": ");
    json_string(message);
    printf(", \"io_unreachable\": %s}", failure_status == EXIT_UNREACHABLE ? "true" : "false");
    fprintf(stderr, "%-40s %s: %s\n", point_name,
            failure_status == EXIT_MISMATCH ? "FAILED" : "out of reach", message);
    return failure_status;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: io_loadgen --port P --name NAME [options]   (JSON on stdout)\n"
            "  --name NAME         the points' case name; {size} stands for the message size\n"
            "  --host A            server address, numeric IPv4 (127.0.0.1)\n"
            "  --conns N           connections (100)\n"
            "  --size S[,S...]     message bytes, a point each over the same connections\n"
            "                      (64; at most %d sizes of at most %d bytes)\n"
            "  --inflight K        messages in flight per connection (1; at most %d)\n"
            "  --warmup SEC        before the window, at least (0.2)\n"
            "  --window SEC        the measurement window (0.8)\n"
            "  --slices N          the window's slices, one repetition each (4; at most %d)\n"
            "  --server-pid PID    the server: its CPU time and open-file limit are read\n"
            "  --server-log FILE   the server's stderr: its last line joins a failure's reason\n"
            "  --batch N           connections opened at once (1000, at most somaxconn/2)\n"
            "  --setup-timeout SEC opening every connection may take this long (60)\n"
            "  --stall SEC         no round trip for this long fails the point (10)\n"
            "exit status: 0 measured, 1 out of reach (reason in the JSON), 2 usage, "
            "3 echo mismatch\n",
            MAX_SIZES, MAX_MESSAGE, MAX_INFLIGHT, MAX_SLICES);
}

static int parse(int argc, char **argv)
{
    static const struct option longs[] = {
        {"host", 1, 0, 'h'},   {"port", 1, 0, 'p'},          {"name", 1, 0, 'n'},
        {"conns", 1, 0, 'c'},  {"size", 1, 0, 's'},          {"inflight", 1, 0, 'k'},
        {"warmup", 1, 0, 'w'}, {"window", 1, 0, 'W'},        {"slices", 1, 0, 'S'},
        {"server-pid", 1, 0, 'P'}, {"server-log", 1, 0, 'L'}, {"batch", 1, 0, 'b'},
        {"setup-timeout", 1, 0, 'T'}, {"stall", 1, 0, 't'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        char *end = NULL;
        double v = optarg ? strtod(optarg, &end) : 0;
        if (ch == 's') { /* a list */
            opt.nsizes = 0;
            for (char *p = optarg; opt.nsizes < MAX_SIZES; p = end + 1) {
                opt.sizes[opt.nsizes++] = strtol(p, &end, 10);
                if (end == p || (*end && *end != ',') || opt.sizes[opt.nsizes - 1] < 1 ||
                    opt.sizes[opt.nsizes - 1] > MAX_MESSAGE) {
                    fprintf(stderr, "io_loadgen: --size %s: sizes must be 1..%d\n", optarg,
                            MAX_MESSAGE);
                    return -1;
                }
                if (!*end)
                    break;
            }
            if (*end) {
                fprintf(stderr, "io_loadgen: --size %s: at most %d sizes\n", optarg, MAX_SIZES);
                return -1;
            }
            continue;
        }
        int text = ch == 'h' || ch == 'n' || ch == 'L';
        if (ch == '?' || (optarg && !text && (end == optarg || *end))) {
            if (ch != '?')
                fprintf(stderr, "io_loadgen: not a number: %s\n", optarg);
            return -1;
        }
        switch (ch) {
        case 'h': opt.host = optarg; break;
        case 'p': opt.port = (int)v; break;
        case 'n': opt.name = optarg; break;
        case 'c': opt.conns = (int)v; break;
        case 'k': opt.inflight = (int)v; break;
        case 'w': opt.warmup = v; break;
        case 'W': opt.window = v; break;
        case 'S': opt.slices = (int)v; break;
        case 'P': opt.server_pid = (pid_t)v; break;
        case 'L': opt.server_log = optarg; break;
        case 'b': opt.batch = (int)v; break;
        case 'T': opt.setup_timeout = v; break;
        case 't': opt.stall = v; break;
        }
    }
    const char *bad = optind < argc                                   ? "unexpected argument"
                      : !opt.name                                     ? "--name is required"
                      : opt.port < 1 || opt.port > 65535              ? "--port must be 1..65535"
                      : opt.conns < 1 || opt.conns > 1000000          ? "--conns must be 1..1000000"
                      : opt.nsizes > 1 && !strstr(opt.name, "{size}")
                          ? "--name needs {size} for several sizes"
                      : opt.inflight < 1 || opt.inflight > MAX_INFLIGHT ? "--inflight out of range"
                      : opt.slices < 1 || opt.slices > MAX_SLICES     ? "--slices out of range"
                      : !(opt.window > 0) || !(opt.warmup >= 0)
                          ? "--window must be > 0, --warmup >= 0"
                      : opt.batch < 0 || !(opt.setup_timeout > 0) || !(opt.stall > 0)
                          ? "--batch, --setup-timeout and --stall must be positive"
                          : NULL;
    if (bad) {
        fprintf(stderr, "io_loadgen: %s\n", bad);
        return -1;
    }
    return 0;
}

/* Both ends need a descriptor per connection: say so instead of failing half-way. */
static int check_limits(void)
{
    struct rlimit rl;
    long long need = (long long)opt.conns + FD_MARGIN;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (long long)rl.rlim_cur < need)
        return fail(EXIT_UNREACHABLE,
                    "the load generator's open-file limit (%llu) is below %d connections + %d",
                    (unsigned long long)rl.rlim_cur, opt.conns, FD_MARGIN);
    long long server = opt.server_pid > 0 ? procfs_open_file_limit(opt.server_pid) : -1;
    if (server >= 0 && server < need)
        return fail(EXIT_UNREACHABLE,
                    "the server's open-file limit (%lld) is below %d connections + %d", server,
                    opt.conns, FD_MARGIN);
    return 0;
}

/* point_name: --name with {size} replaced by the size being measured. */
static void name_point(void)
{
    const char *at = strstr(opt.name, "{size}");
    if (!at)
        snprintf(point_name, sizeof point_name, "%s", opt.name);
    else
        snprintf(point_name, sizeof point_name, "%.*s%ld%s", (int)(at - opt.name), opt.name,
                 msg_size, at + 6);
}

int main(int argc, char **argv)
{
    if (parse(argc, argv) != 0) {
        usage();
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    make_pattern();
    size_t slots = (size_t)opt.conns * (size_t)opt.inflight;
    conns = calloc((size_t)opt.conns, sizeof *conns);
    ts_store = calloc(slots, sizeof *ts_store);
    end_store = calloc(slots, sizeof *end_store);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || !ts_store || !end_store || epfd < 0) {
        fprintf(stderr, "io_loadgen: %s\n", epfd < 0 ? strerror(errno) : "out of memory");
        return EXIT_USAGE;
    }
    for (int i = 0; i < opt.conns; i++)
        conns[i].fd = -1;
    uint64_t begin = now_ns();
    msg_size = opt.sizes[0]; /* the priming round trips' size */
    int ok = check_limits() == 0 && setup() == 0;
    setup_ns = now_ns() - begin;
    int setup_ok = ok;
    long failed_size = 0; /* the size whose point failed: the later ones are not measured */
    printf("[\n");
    for (int i = 0; i < opt.nsizes; i++) {
        msg_size = opt.sizes[i];
        name_point();
        if (ok && measure() == 0) {
            print_results();
            continue;
        }
        print_failure(setup_ok ? failed_size : 0);
        if (!failed_size)
            failed_size = msg_size;
        ok = 0;
    }
    printf("\n]\n");
    close_all();
    return ok ? EXIT_MEASURED : failure_status;
}
