/* sleep_order.c — gevent's classic: three greenlets print "begins", sleep 2, 1 and 0
 * units, and print "ends". They begin in spawn order and end in deadline order:
 *   1 begins, 2 begins, 3 begins, 3 ends, 2 ends, 1 ends
 * Usage: sleep_order [unit-seconds]   (default 0.1; SWITCHYARD_LOOP=libev|libuv) */
#include <stdio.h>
#include <stdlib.h>
#include "hub.h"

static double unit = 0.1;

static void *task(void *arg)
{
    long n = (long)arg; /* 1, 2, 3: sleeps 2, 1, 0 units */
    printf("%ld begins\n", n);
    int rc = hub_sleep((3 - n) * unit);
    if (rc != HUB_OK)
        return gl_reraise();
    printf("%ld ends\n", n);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        unit = atof(argv[1]);
    hub_greenlet *g[3];
    for (long i = 0; i < 3; i++)
        if (hub_spawn(&g[i], task, (void *)(i + 1)) != HUB_OK) {
            fprintf(stderr, "sleep_order: %s\n", gl_last_error()->message);
            return 1;
        }
    int rc = hub_joinall(g, 3, HUB_FOREVER);
    if (rc != HUB_OK)
        fprintf(stderr, "sleep_order: %s: %s\n", hub_strerror(rc), gl_last_error()->message);
    printf("(loop: %s, port: %s)\n", hub_loop_name(), gl_port()->name);
    for (int i = 0; i < 3; i++)
        hub_greenlet_release(g[i]);
    hub_destroy();
    return rc == HUB_OK ? 0 : 1;
}
