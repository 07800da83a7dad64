/* server.c — hub_server, gevent's StreamServer: an acceptor greenlet that spawns a
 * handler greenlet per connection, backs off when accept() fails for want of resources
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM: gevent's min_delay doubling up to max_delay, reset
 * by a successful accept) instead of retrying at once, and a stop that waits for the
 * handlers, then kills those left. */
#include <errno.h>
#include <stdlib.h>
#include "hub_internal.h"

enum { FRESH, SERVING, STOPPED };

/* Accepts in a row before the acceptor lets the others run (gevent's max_accept). */
#define MAX_ACCEPT 100

typedef struct conn {
    hub_server *server;
    int fd;
    hub_greenlet *g;
    hub__node node; /* in server->conns */
} conn;

struct hub_server {
    hub__hub *hub;
    int listen_fd;          /* -1 once closed */
    hub_handler_fn handle;
    void *arg;
    int state;
    hub_greenlet *acceptor;
    hub__list conns;        /* handlers not yet cleaned up */
    hub_event *stopped;     /* set when it stops serving (stop, or a fatal accept error) */
    double min_delay, max_delay, next_delay;
    hub_server_stats stats;
    gl_error fatal;         /* the accept error that ended serving, if any */
};

/* Once the handler's greenlet is dead, however it ended (returned, failed, killed,
 * even before it started): its descriptor is closed. */
static void connection_over(hub_greenlet *g, void *arg)
{
    conn *c = arg;
    hub_close(c->fd);
    hub__list_remove(&c->server->conns, &c->node);
    c->server->stats.active--;
    hub_greenlet_release(g);
    free(c);
}

static void *serve_connection(void *arg)
{
    conn *c = arg;
    return c->server->handle(c->fd, c->server->arg);
}

/* A greenlet for fd; HUB_OK, or an error (fd then closed). */
static int start_connection(hub_server *s, int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        hub_close(fd);
        return hub__fail(GL_ENOMEM, NULL, "hub_server: out of memory for a connection");
    }
    c->server = s;
    c->fd = fd;
    int rc = hub_spawn(&c->g, serve_connection, c);
    if (rc == HUB_OK && (rc = hub_greenlet_link(c->g, connection_over, c)) != HUB_OK) {
        hub_kill_nowait(c->g); /* unstarted: it never runs */
        hub_greenlet_release(c->g);
    }
    if (rc != HUB_OK) {
        hub_close(fd);
        free(c);
        return rc;
    }
    hub__list_push(&s->conns, &c->node);
    s->stats.active++;
    return HUB_OK;
}

static int fatal(int err) { return err == EBADF || err == EINVAL || err == ENOTSOCK; }

static void *accept_loop(void *arg)
{
    hub_server *s = arg;
    for (int burst = 0;;) {
        int fd;
        int rc = hub_accept(s->listen_fd, HUB_FOREVER, &fd);
        if (rc == HUB_OK) {
            s->stats.accepted++;
            s->next_delay = s->min_delay;
            s->stats.delay = 0;
            rc = start_connection(s, fd);
            if (rc == HUB_OK && ++burst < MAX_ACCEPT)
                continue;
            burst = 0;
            if (rc == HUB_OK) {
                if ((rc = hub_sleep(0)) != HUB_OK)
                    return gl_reraise(); /* killed by hub_server_stop */
                continue;
            }
            /* no greenlet for it: back off as for a failed accept */
        } else if (rc == GL_EEXIT) {
            return gl_reraise(); /* killed by hub_server_stop */
        } else if (rc != HUB_ESYS || fatal(hub_errno())) {
            /* The listener is unusable (closed, not listening, not a socket): serving
             * ends with this error, which hub_server_serve_forever() returns. */
            s->fatal = *gl_last_error();
            s->state = STOPPED;
            hub_event_set(s->stopped);
            return gl_reraise();
        }
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM, ...: retrying at once would spin (the
         * connection waits in the backlog, the listener stays readable). */
        s->stats.accept_errors++;
        s->stats.delay = s->next_delay;
        s->next_delay = s->next_delay * 2 < s->max_delay ? s->next_delay * 2 : s->max_delay;
        if (hub_sleep(s->stats.delay) != HUB_OK)
            return gl_reraise();
        s->stats.delay = 0;
        burst = 0;
    }
}

int hub_server_new(hub_server **out, int listen_fd, hub_handler_fn handle, void *arg)
{
    if (!out)
        return hub__fail(GL_EINVAL, NULL, "hub_server_new: `out` is NULL");
    *out = NULL;
    if (listen_fd < 0 || !handle)
        return hub__fail(GL_EINVAL, NULL, "hub_server_new: %s",
                         listen_fd < 0 ? "invalid listening descriptor" : "the handler is NULL");
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub_server *s = calloc(1, sizeof *s);
    if (!s)
        return hub__fail(GL_ENOMEM, NULL, "hub_server_new: out of memory");
    int rc = hub_event_new(&s->stopped);
    if (rc != HUB_OK) {
        free(s);
        return rc;
    }
    s->hub = h;
    s->listen_fd = listen_fd;
    s->handle = handle;
    s->arg = arg;
    s->min_delay = s->next_delay = HUB_SERVER_MIN_DELAY;
    s->max_delay = HUB_SERVER_MAX_DELAY;
    *out = s;
    return HUB_OK;
}

static hub__hub *server_hub(hub_server *s, const char *what)
{
    if (!s) {
        hub__fail(GL_EINVAL, NULL, "%s: the server is NULL", what);
        return NULL;
    }
    return hub__for(s->hub, what);
}

int hub_server_set_delays(hub_server *s, double min_delay, double max_delay)
{
    if (!server_hub(s, "hub_server_set_delays"))
        return gl_last_error()->code;
    if (!(min_delay > 0) || !(max_delay >= min_delay) || __builtin_isinf(max_delay))
        return hub__fail(GL_EINVAL, NULL,
                         "hub_server_set_delays: need 0 < min (%g) <= max (%g), finite",
                         min_delay, max_delay);
    s->min_delay = s->next_delay = min_delay;
    s->max_delay = max_delay;
    return HUB_OK;
}

int hub_server_start(hub_server *s)
{
    if (!server_hub(s, "hub_server_start"))
        return gl_last_error()->code;
    if (s->state != FRESH)
        return hub__fail(HUB_EBUSY, NULL, "hub_server_start: the server was started already");
    int rc = hub_spawn(&s->acceptor, accept_loop, s);
    if (rc != HUB_OK)
        return rc;
    s->state = SERVING;
    return HUB_OK;
}

int hub_server_serve_forever(hub_server *s)
{
    if (!server_hub(s, "hub_server_serve_forever"))
        return gl_last_error()->code;
    if (s->state == FRESH) {
        int rc = hub_server_start(s);
        if (rc != HUB_OK)
            return rc;
    }
    int rc = hub_event_wait(s->stopped, HUB_FOREVER);
    if (rc == HUB_OK && s->fatal.code)
        return hub__fail(s->fatal.code, s->fatal.data, "%s", s->fatal.message);
    return rc;
}

/* Waits until every handler but the caller's own is dead and cleaned up, or `end`
 * (hub_now() seconds; negative: no limit). HUB_OK or HUB_ETIMEOUT (or what was thrown
 * in). */
static int join_handlers(hub_server *s, double end)
{
    hub_greenlet *self = hub_current();
    for (;;) {
        hub__node *n = s->conns.head;
        while (n && hub__container_of(n, conn, node)->g == self)
            n = n->next;
        if (!n)
            return HUB_OK;
        conn *c = hub__container_of(n, conn, node);
        double left = HUB_FOREVER;
        if (end >= 0 && (left = end - hub_now()) < 0)
            left = 0;
        /* A dead one's clean-up is queued in the hub: let it run. */
        int rc = hub_greenlet_dead(c->g) ? hub_sleep(0) : hub_join(c->g, left);
        if (rc != HUB_OK)
            return rc;
    }
}

int hub_server_stop(hub_server *s, double timeout)
{
    if (!server_hub(s, "hub_server_stop"))
        return gl_last_error()->code;
    if (hub__check_seconds(timeout, "hub_server_stop") != HUB_OK)
        return GL_EINVAL;
    if (s->acceptor) {
        int rc = hub_kill(s->acceptor, HUB_FOREVER);
        if (rc != HUB_OK)
            return rc; /* thrown into us meanwhile: stop again later */
        hub_greenlet_release(s->acceptor);
        s->acceptor = NULL;
    }
    if (s->listen_fd >= 0) {
        hub_close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->state != STOPPED) {
        s->state = STOPPED;
        hub_event_set(s->stopped);
    }
    /* gevent's stop(timeout): pool.join(timeout), then pool.kill(timeout=1). */
    double end = timeout < 0 || __builtin_isinf(timeout) ? -1 : hub_now() + timeout;
    int rc = join_handlers(s, end);
    if (rc != HUB_OK && rc != HUB_ETIMEOUT)
        return rc;
    if (rc == HUB_ETIMEOUT) {
        hub_greenlet *self = hub_current();
        for (hub__node *n = s->conns.head; n; n = n->next) {
            conn *c = hub__container_of(n, conn, node);
            if (c->g != self)
                hub_kill_nowait(c->g);
        }
        rc = join_handlers(s, hub_now() + HUB_SERVER_KILL_GRACE);
        if (rc != HUB_OK)
            return rc;
    }
    return HUB_OK;
}

int hub_server_free(hub_server *s)
{
    if (!s)
        return HUB_OK;
    if (!server_hub(s, "hub_server_free"))
        return gl_last_error()->code;
    if (s->state == SERVING || s->conns.head)
        return hub__fail(HUB_EBUSY, NULL, "hub_server_free: %s",
                         s->state == SERVING ? "still serving: hub_server_stop() first"
                                             : "handlers still run");
    if (s->acceptor)
        hub_greenlet_release(s->acceptor); /* it ended on a fatal accept error */
    if (s->listen_fd >= 0)
        hub_close(s->listen_fd);
    hub_event_free(s->stopped);
    free(s);
    return HUB_OK;
}

int hub_server_get_stats(const hub_server *s, hub_server_stats *out)
{
    if (!s || !out)
        return hub__fail(GL_EINVAL, NULL, "hub_server_get_stats: %s is NULL", s ? "out" : "s");
    *out = s->stats;
    return HUB_OK;
}
