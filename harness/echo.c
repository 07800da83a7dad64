/* echo.c — connection setup and latency statistics shared by the echo cases. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "echo.h"

const int echo_conns[] = {1, 10, 100, 1000, 8000};
const size_t echo_nconns = sizeof echo_conns / sizeof *echo_conns;

void echo_register(bench_fn fn, const char *loop, const char *prefix)
{
    static echo_case cases[16];
    static size_t used;
    for (size_t i = 0; i < echo_nconns && used < sizeof cases / sizeof *cases; i++) {
        int n = echo_conns[i];
        if (bench_quick() && (n == 10 || n == 8000))
            continue; /* the smoke run keeps 1, 100 and 1000 */
        cases[used] = (echo_case){loop, n};
        bench_case *c = bench_register(fn, &cases[used++], "%s/%s/%d", prefix, loop, n);
        bench_iterations(bench_use_real_time(c), 1);
        if (!bench_quick())
            bench_repetitions(c, ECHO_REPETITIONS);
    }
}

static int tune(int fd)
{
    int one = 1;
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
                   setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0
               ? -1
               : 0;
}

static void abortive_close(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

void echo_close(int n, int *client, int *server)
{
    for (int i = 0; i < n; i++) {
        if (client[i] >= 0)
            abortive_close(client[i]);
        if (server[i] >= 0)
            abortive_close(server[i]);
        client[i] = server[i] = -1;
    }
}

int echo_open(int n, int *client, int *server, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++)
        client[i] = server[i] = -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 128) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) {
        snprintf(err, errlen, "listen on 127.0.0.1: %s", strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    /* Connect and accept one at a time: the backlog never holds more than one. */
    for (int i = 0; i < n; i++) {
        const char *step = "socket";
        client[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (client[i] >= 0) {
            step = "connect";
            if (connect(client[i], (struct sockaddr *)&addr, sizeof addr) == 0) {
                step = "accept";
                server[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (server[i] >= 0) {
                    step = "socket options";
                    if (tune(client[i]) == 0 && tune(server[i]) == 0)
                        continue;
                }
            }
        }
        snprintf(err, errlen, "connection %d of %d: %s: %s", i + 1, n, step, strerror(errno));
        echo_close(i + 1, client, server);
        close(lfd);
        return -1;
    }
    close(lfd);
    return 0;
}

int echo_stats_init(echo_stats *s, int conns)
{
    memset(s, 0, sizeof *s);
    s->min_round_trips = 2 * (uint64_t)conns; /* the second round is all in the window */
    s->window_ns = bench_quick() ? 50000000ULL : 400000000ULL;
    s->cap = (size_t)1 << 20;
    if (s->cap < s->min_round_trips + (size_t)conns)
        s->cap = s->min_round_trips + (size_t)conns;
    s->lat_ns = malloc(s->cap * sizeof *s->lat_ns);
    return s->lat_ns ? 0 : -1;
}

void echo_stats_start(echo_stats *s)
{
    s->stored = 0;
    s->round_trips = 0;
    s->done = 0;
    s->t0_ns = echo_now_ns();
    s->seen = 0;
    s->seen_ns = s->t0_ns;
}

int echo_stats_stalled(echo_stats *s)
{
    uint64_t now = echo_now_ns();
    if (s->round_trips != s->seen) {
        s->seen = s->round_trips;
        s->seen_ns = now;
        return 0;
    }
    return now - s->seen_ns > ECHO_STALL_NS;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double percentile_us(const echo_stats *s, double p)
{
    if (!s->stored)
        return 0;
    size_t i = (size_t)(p * (double)(s->stored - 1) + 0.5);
    return s->lat_ns[i] / 1000.0;
}

void echo_stats_report(echo_stats *s, bench_state *st, int conns)
{
    qsort(s->lat_ns, s->stored, sizeof *s->lat_ns, cmp_u64);
    double secs = (double)(s->t1_ns - s->t0_ns) / 1e9;
    bench_counter(st, "round_trips_per_s", secs > 0 ? (double)s->round_trips / secs : 0);
    bench_counter(st, "p50_us", percentile_us(s, 0.50));
    bench_counter(st, "p99_us", percentile_us(s, 0.99));
    bench_counter(st, "connections", conns);
    echo_stats_free(s);
}

void echo_stats_free(echo_stats *s)
{
    free(s->lat_ns);
    s->lat_ns = NULL;
}
