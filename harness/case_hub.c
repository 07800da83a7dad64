/*
 * case_hub.c — the hub on each port and each loop backend (include/hub.h).
 *
 *   hub_sleep0/<port>/<loop>/<N>  ns per hub_sleep(0) in a round robin of N greenlets
 *                                 (the main greenlet and N-1 spawned ones): one
 *                                 iteration = one greenlet yields and the next resumes
 *   hub_timers/<port>/<loop>      ns per timer armed + fired + greenlet resumed
 *                                 (hub_sleep of 1 ns in a loop: the timer path, never
 *                                 the FIFO shortcut of sleep(0))
 *   echo/<port>/<loop>/<conns>    the echo workload of echo.h, one client greenlet and
 *                                 one server greenlet per connection on one hub
 *
 * Every run creates its hub with the loop it wants (hub_set_loop) and destroys it at
 * the end (hub_destroy), so runs of both loops can interleave in one process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "bench.h"
#include "cases.h"
#include "echo.h"
#include "greenlet.h"
#include "hub.h"

static const char *const loops[] = {"libev", "libuv"};
#define NLOOPS (sizeof loops / sizeof *loops)

/* hub_set_loop + a hub that exists: 0, or the run is failed with the reason. */
static int hub_up(bench_state *st, const char *loop)
{
    if (hub_set_loop(loop) != HUB_OK || !hub_loop_name()) {
        bench_fail(st, "hub on %s: %s", loop, gl_last_error()->message);
        return -1;
    }
    return 0;
}

static void hub_down(bench_state *st)
{
    if (hub_destroy() != HUB_OK)
        bench_fail(st, "hub_destroy: %s", gl_last_error()->message);
}

/* Wait for and release spawned greenlets. */
static int join_release(hub_greenlet **gs, size_t n)
{
    int rc = hub_joinall(gs, n, 30.0);
    for (size_t i = 0; i < n; i++)
        hub_greenlet_release(gs[i]);
    return rc;
}

/* ---- hub_sleep0 ------------------------------------------------------------------------- */

typedef struct sleep_case {
    const char *loop;
    int n;
} sleep_case;

static volatile int sleepers_stop;

static void *sleeper(void *arg)
{
    (void)arg;
    while (!sleepers_stop)
        if (hub_sleep(0) != HUB_OK)
            return gl_reraise();
    return NULL;
}

static void case_hub_sleep0(bench_state *st, void *arg)
{
    const sleep_case *c = arg;
    if (hub_up(st, c->loop) != 0)
        return;
    size_t workers = (size_t)c->n - 1;
    hub_greenlet **gs = calloc(workers ? workers : 1, sizeof *gs);
    size_t made = 0;
    sleepers_stop = 0;
    if (!gs) {
        bench_fail(st, "out of memory");
    } else {
        for (; made < workers; made++)
            if (hub_spawn(&gs[made], sleeper, NULL) != HUB_OK) {
                bench_fail(st, "hub_spawn: %s", gl_last_error()->message);
                break;
            }
        if (hub_sleep(0) != HUB_OK) /* every worker starts and queues up once */
            bench_fail(st, "hub_sleep: %s", gl_last_error()->message);
        else if (made == workers)
            /* Each of main's sleep(0) lets every worker sleep(0) once: n per round. */
            while (bench_keep_running_batch(st, c->n))
                if (hub_sleep(0) != HUB_OK) {
                    bench_fail(st, "hub_sleep: %s", gl_last_error()->message);
                    break;
                }
        sleepers_stop = 1;
        if (join_release(gs, made) != HUB_OK)
            bench_fail(st, "the sleepers did not end: %s", gl_last_error()->message);
    }
    free(gs);
    hub_down(st);
}

/* ---- hub_timers --------------------------------------------------------------------------- */

static void case_hub_timers(bench_state *st, void *arg)
{
    const char *loop = arg;
    if (hub_up(st, loop) != 0)
        return;
    while (bench_keep_running_batch(st, 100))
        for (int i = 0; i < 100; i++)
            if (hub_sleep(1e-9) != HUB_OK) {
                bench_fail(st, "hub_sleep: %s", gl_last_error()->message);
                goto out;
            }
out:
    hub_down(st);
}

/* ---- echo ------------------------------------------------------------------------------------ */

typedef struct hub_echo {
    echo_stats stats;
    hub_event *reached;  /* set when the window is over (or a connection failed) */
    volatile int stop;
    const char *error;
} hub_echo;

typedef struct hub_conn {
    hub_echo *run;
    int fd;
    unsigned char buf[ECHO_MSG];
} hub_conn;

static const unsigned char message[ECHO_MSG] =
    "switchyard echo: 64 bytes of payload, one message in flight.";

static void *conn_failed(hub_conn *c, const char *what)
{
    if (c->run->stop)
        return NULL; /* the descriptors are being closed: the end of the run */
    if (!c->run->error)
        c->run->error = what;
    hub_event_set(c->run->reached); /* wake main to report it */
    return NULL;
}

static void *echo_server(void *arg)
{
    hub_conn *c = arg;
    for (;;) {
        size_t n;
        if (hub_recv(c->fd, c->buf, sizeof c->buf, HUB_FOREVER, &n) != HUB_OK || n == 0)
            return conn_failed(c, "server: recv failed or peer closed");
        if (hub_send_all(c->fd, c->buf, n, HUB_FOREVER, NULL) != HUB_OK)
            return conn_failed(c, "server: send failed");
    }
}

static void *echo_client(void *arg)
{
    hub_conn *c = arg;
    hub_echo *r = c->run;
    for (;;) {
        uint64_t sent = echo_now_ns();
        if (hub_send_all(c->fd, message, ECHO_MSG, HUB_FOREVER, NULL) != HUB_OK)
            return conn_failed(c, "client: send failed");
        for (size_t have = 0, n; have < ECHO_MSG; have += n)
            if (hub_recv(c->fd, c->buf + have, ECHO_MSG - have, HUB_FOREVER, &n) != HUB_OK ||
                n == 0)
                return conn_failed(c, "client: recv failed or peer closed");
        if (echo_stats_add(&r->stats, sent) && !hub_event_is_set(r->reached))
            hub_event_set(r->reached);
    }
}

static void case_echo(bench_state *st, void *arg)
{
    const echo_case *ec = arg;
    int n = ec->conns;
    int *fds = malloc(2 * (size_t)n * sizeof *fds);
    hub_conn *cs = calloc(2 * (size_t)n, sizeof *cs);
    hub_greenlet **gs = calloc(2 * (size_t)n, sizeof *gs);
    hub_echo *r = calloc(1, sizeof *r);
    char err[256];
    size_t made = 0;
    int opened = 0;
    if (!fds || !cs || !gs || !r || echo_stats_init(&r->stats, n) != 0) {
        bench_fail(st, "out of memory");
        goto out;
    }
    if (hub_up(st, ec->loop) != 0)
        goto out;
    if (hub_event_new(&r->reached) != HUB_OK) {
        bench_fail(st, "hub_event_new: %s", gl_last_error()->message);
        goto down;
    }
    if (echo_open(n, fds, fds + n, err, sizeof err) != 0) {
        bench_fail(st, "%s", err);
        goto down;
    }
    opened = 1;
    /* Clients first: a client's first message is in flight before its server listens,
     * as with the callback baselines. */
    for (; made < 2 * (size_t)n; made++) {
        cs[made].run = r;
        cs[made].fd = fds[made];
        if (hub_spawn(&gs[made], made < (size_t)n ? echo_client : echo_server, &cs[made]) !=
            HUB_OK) {
            bench_fail(st, "hub_spawn: %s", gl_last_error()->message);
            goto stop;
        }
    }
    /* Let every greenlet start (a thread per greenlet takes a while) and the first
     * messages leave before the window opens. */
    if (hub_sleep(0) != HUB_OK) {
        bench_fail(st, "hub_sleep: %s", gl_last_error()->message);
        goto stop;
    }
    while (bench_keep_running_batch(st, 1)) {
        echo_stats_start(&r->stats);
        while (!r->error && !r->stats.done) {
            int rc = hub_event_wait(r->reached, 1.0);
            if (rc != HUB_OK && rc != HUB_ETIMEOUT && !r->error)
                r->error = "main: waiting for the window to end failed";
            if (echo_stats_stalled(&r->stats) && !r->error)
                r->error = "no round trip completed for 10 s";
        }
        if (r->error)
            bench_fail(st, "%s", r->error);
    }
    if (!r->error)
        echo_stats_report(&r->stats, st, n);
stop:
    /* Close every descriptor through the hub: its waiters wake with HUB_ECLOSED. */
    r->stop = 1;
    for (int i = 0; i < 2 * n; i++) {
        struct linger lg = {1, 0}; /* abortive close: no TIME_WAIT left behind */
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        hub_close(fds[i]);
    }
    opened = 0;
    if (join_release(gs, made) != HUB_OK)
        bench_fail(st, "the echo greenlets did not end: %s", gl_last_error()->message);
down:
    if (r->reached)
        hub_event_free(r->reached);
    hub_down(st);
out:
    if (opened)
        echo_close(n, fds, fds + n);
    if (r)
        echo_stats_free(&r->stats);
    free(r);
    free(gs);
    free(cs);
    free(fds);
}

void bench_cases_hub(void)
{
    const char *port = gl_port()->name;
    static sleep_case sleeps[NLOOPS][2];
    static const int rounds[] = {10, 1000};
    char prefix[64];
    snprintf(prefix, sizeof prefix, "echo/%s", port);
    for (size_t l = 0; l < NLOOPS; l++) {
        for (size_t i = 0; i < 2; i++) {
            sleeps[l][i] = (sleep_case){loops[l], rounds[i]};
            bench_use_real_time(bench_register(case_hub_sleep0, &sleeps[l][i],
                                               "hub_sleep0/%s/%s/%d", port, loops[l], rounds[i]));
        }
        bench_use_real_time(
            bench_register(case_hub_timers, (void *)loops[l], "hub_timers/%s/%s", port, loops[l]));
        echo_register(case_echo, loops[l], prefix);
    }
}
