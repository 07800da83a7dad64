/*
 * baseline_echo_ev.c — baseline_echo/libev/<conns>: the echo workload (echo.h) as a
 * plain libev program, callbacks only, no greenlets: the limit the hub can approach.
 */
#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cases.h"
#include "echo.h"

typedef struct ev_echo ev_echo;

typedef struct ev_conn {
    ev_io io; /* first: the watcher pointer is the connection pointer */
    ev_echo *run;
    int is_client;
    int have;            /* client: bytes of the echo received so far */
    uint64_t sent_ns;
    unsigned char buf[ECHO_MSG];
} ev_conn;

struct ev_echo {
    struct ev_loop *loop;
    echo_stats stats;
    const char *error;
};

static const unsigned char message[ECHO_MSG] = "switchyard echo: 64 bytes of payload, one message in flight.";

static void fail(ev_echo *r, const char *what)
{
    if (!r->error)
        r->error = what;
    ev_break(r->loop, EVBREAK_ALL);
}

static void send_message(ev_conn *c)
{
    c->sent_ns = echo_now_ns();
    if (write(c->io.fd, message, ECHO_MSG) != ECHO_MSG)
        fail(c->run, "client write fell short");
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    ev_conn *c = (ev_conn *)w;
    if (!c->is_client) {
        ssize_t n = read(w->fd, c->buf, sizeof c->buf);
        if (n > 0 && write(w->fd, c->buf, (size_t)n) == n)
            return;
        if (n < 0 && errno == EAGAIN)
            return;
        fail(c->run, n == 0 ? "server: peer closed" : "server read/write failed");
        return;
    }
    ssize_t n = read(w->fd, c->buf + c->have, sizeof c->buf - (size_t)c->have);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        fail(c->run, n == 0 ? "client: peer closed" : "client read failed");
        return;
    }
    c->have += (int)n;
    if (c->have < ECHO_MSG)
        return;
    c->have = 0;
    ev_echo *r = c->run;
    if (echo_stats_add(&r->stats, c->sent_ns))
        ev_break(loop, EVBREAK_ALL);
    send_message(c);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    ev_echo *r = w->data;
    if (echo_stats_stalled(&r->stats))
        fail(r, "no round trip completed for 10 s");
}

static void baseline_echo_ev(bench_state *st, void *arg)
{
    int conns = ((const echo_case *)arg)->conns;
    int *fds = malloc(2 * (size_t)conns * sizeof *fds);
    ev_conn *cs = calloc(2 * (size_t)conns, sizeof *cs);
    ev_echo r = {0};
    char err[256];
    r.loop = ev_loop_new(EVFLAG_AUTO);
    for (int i = 0; fds && i < 2 * conns; i++)
        fds[i] = -1;
    if (!fds || !cs || !r.loop || echo_stats_init(&r.stats, conns) != 0) {
        bench_fail(st, "out of memory");
        goto out;
    }
    if (echo_open(conns, fds, fds + conns, err, sizeof err) != 0) {
        bench_fail(st, "%s", err);
        goto out;
    }
    for (int i = 0; i < 2 * conns; i++) {
        cs[i].run = &r;
        cs[i].is_client = i < conns;
        ev_io_init(&cs[i].io, on_readable, fds[i], EV_READ);
        ev_io_start(r.loop, &cs[i].io);
    }
    ev_timer watchdog;
    ev_timer_init(&watchdog, on_watchdog, 1.0, 1.0);
    watchdog.data = &r;
    ev_timer_start(r.loop, &watchdog);
    ev_unref(r.loop); /* the watchdog alone does not keep the loop alive */

    for (int i = 0; i < conns; i++)
        send_message(&cs[i]);
    while (bench_keep_running_batch(st, 1)) {
        echo_stats_start(&r.stats);
        while (!r.error && !r.stats.done)
            ev_run(r.loop, 0);
        if (r.error)
            bench_fail(st, "%s", r.error);
    }
    if (!r.error)
        echo_stats_report(&r.stats, st, conns);
    ev_ref(r.loop);
    ev_timer_stop(r.loop, &watchdog);
    for (int i = 0; i < 2 * conns; i++)
        ev_io_stop(r.loop, &cs[i].io);
    echo_close(conns, fds, fds + conns);
out:
    echo_stats_free(&r.stats);
    if (r.loop)
        ev_loop_destroy(r.loop);
    free(cs);
    free(fds);
}

void bench_baselines_echo_ev(void)
{
    echo_register(baseline_echo_ev, "libev", "baseline_echo");
}
