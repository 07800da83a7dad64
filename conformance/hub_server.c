/* hub_server (gevent's StreamServer): a greenlet per connection, its descriptor closed
 * after it, handler failures reported without stopping the server, a stop that waits
 * for the handlers up to a timeout then kills the rest, fatal listener errors. The
 * faults (descriptor limit, resets, slow peers) are in hub_faults.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "greenlet.h"
#include "hub.h"
#include "hub_cases.h"
#include "suite.h"

static int port_of_listener;

/* Sends `text`, reads the same back. */
static int echo_once(int fd, const char *text)
{
    size_t len = strlen(text), got = 0, n;
    char in[128];
    int rc = hub_send_all(fd, text, len, 10.0, NULL);
    while (rc == HUB_OK && got < len) {
        rc = hub_recv(fd, in + got, sizeof in - got, 10.0, &n);
        if (rc == HUB_OK && n == 0)
            return gl_throw(gl_current(), GL_EUSER, NULL, "closed early");
        got += n;
    }
    if (rc == HUB_OK && memcmp(in, text, len) != 0)
        return gl_throw(gl_current(), GL_EUSER, NULL, "echo differs");
    return rc;
}

static void *echo_client(void *arg)
{
    long id = (long)(intptr_t)arg;
    int fd;
    int rc = hub_tcp_connect(NULL, (uint16_t)port_of_listener, 10.0, &fd);
    for (int m = 0; rc == HUB_OK && m < 3; m++) {
        char text[64];
        snprintf(text, sizeof text, "client %ld message %d", id, m);
        rc = echo_once(fd, text);
    }
    if (fd >= 0)
        hub_close(fd);
    return rc == HUB_OK ? NULL : gl_reraise();
}

static hub_server *new_server(hub_handler_fn handle, void *arg)
{
    int lfd;
    hub_server *s;
    CHECK_OK(hub_tcp_listen(NULL, 0, 64, &lfd));
    port_of_listener = hub_socket_port(lfd);
    CHECK_OK(hub_server_new(&s, lfd, handle, arg));
    return s;
}

CASE(hub, server_serves_each_connection_in_a_greenlet_and_closes_it_after)
{
    hub_greenlet *c[10];
    hub_server_stats st;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    hub_server *s = new_server(hub_cases_echo_handler, NULL);
    CHECK_OK(hub_server_start(s));
    for (long i = 0; i < 10; i++)
        CHECK_OK(hub_spawn(&c[i], echo_client, (void *)(intptr_t)i));
    for (int i = 0; i < 10; i++)
        CHECK_OK(hub_get(c[i], HUB_FOREVER, NULL));
    CHECK_OK(hub_server_get_stats(s, &st));
    CHECK_INT(st.accepted, 10);
    CHECK_INT(st.accept_errors, 0);
    CHECK_OK(hub_server_stop(s, 5.0));
    CHECK_OK(hub_server_get_stats(s, &st));
    CHECK_INT(st.active, 0);
    CHECK_OK(hub_server_free(s));
    CHECK_INT(hub_cases_open_fds(), before); /* listener and connections closed */
}

static void *quick_or_idle(int fd, void *arg)
{
    (void)arg;
    char c;
    size_t n;
    int rc = hub_recv(fd, &c, 1, HUB_FOREVER, &n); /* the idle client never sends */
    if (rc == HUB_OK && n == 1) {
        rc = hub_sleep(0.005);
        LOG("quick-done");
        return NULL;
    }
    LOG("idle:%s", hub_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

/* gevent's stop(timeout) with a Pool: join the handlers up to the timeout, then kill. */
CASE(hub, server_stop_waits_for_its_handlers_then_kills_those_left)
{
    int quick, idle, refused;
    hub_server_stats st;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    hub_server *s = new_server(quick_or_idle, NULL);
    CHECK_OK(hub_server_start(s));
    CHECK_OK(hub_tcp_connect(NULL, (uint16_t)port_of_listener, 10.0, &quick));
    CHECK_OK(hub_tcp_connect(NULL, (uint16_t)port_of_listener, 10.0, &idle));
    do
        CHECK_OK(hub_sleep(0.001));
    while (hub_server_get_stats(s, &st) == HUB_OK && st.accepted < 2);
    CHECK_OK(hub_send_all(quick, "q", 1, HUB_FOREVER, NULL));
    LOG("stop");
    CHECK_OK(hub_server_stop(s, 0.2));
    LOG("stopped");
    CHECK_LOG("stop quick-done idle:GreenletExit stopped");
    CHECK_INT(hub_tcp_connect(NULL, (uint16_t)port_of_listener, 10.0, &refused), HUB_ESYS);
    CHECK_INT(hub_errno(), ECONNREFUSED); /* the listener is closed */
    CHECK_OK(hub_server_free(s));
    hub_close(quick);
    hub_close(idle);
    CHECK_INT(hub_cases_open_fds(), before);
}

static void *fails_first(int fd, void *arg)
{
    long *calls = arg;
    if ((*calls)++ == 0)
        return gl_raise(GL_EUSER, NULL, "the first connection fails");
    return hub_cases_echo_handler(fd, NULL);
}

CASE(hub, server_goes_on_when_a_handler_fails)
{
    static long calls;
    int first;
    size_t n;
    char c;
    hub_server *s = new_server(fails_first, &calls);
    CHECK_OK(hub_server_start(s));
    CHECK_OK(hub_tcp_connect(NULL, (uint16_t)port_of_listener, 10.0, &first));
    CHECK_OK(hub_recv(first, &c, 1, 10.0, &n)); /* closed by the server after the failure */
    CHECK_INT(n, 0);
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, echo_client, (void *)1));
    CHECK_OK(hub_get(g, HUB_FOREVER, NULL)); /* served by the second handler */
    CHECK_OK(hub_server_stop(s, 10.0));
    CHECK_INT(calls, 2);
    CHECK_OK(hub_server_free(s));
    hub_close(first);
}

static void *never_called(int fd, void *arg)
{
    (void)fd, (void)arg;
    LOG("handler");
    return NULL;
}

/* gevent's fatal_errors (EBADF, EINVAL, ENOTSOCK) close the server. */
CASE(hub, server_on_an_unusable_listener_ends_with_the_error)
{
    hub_server *s;
    CHECK_INT(hub_server_new(&s, -1, never_called, NULL), GL_EINVAL);
    CHECK_INT(hub_server_new(&s, 0, NULL, NULL), GL_EINVAL);
    int not_listening = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(not_listening >= 0);
    CHECK_OK(hub_server_new(&s, not_listening, never_called, NULL));
    CHECK_INT(hub_server_serve_forever(s), HUB_ESYS);
    CHECK_INT(hub_errno(), EINVAL);
    CHECK_OK(hub_server_stop(s, 0));
    CHECK_OK(hub_server_free(s));
    CHECK_LOG("");
}

static hub_server *to_stop;

static void *stop_soon(void *arg)
{
    (void)arg;
    if (hub_sleep(0.005) != HUB_OK)
        return gl_reraise();
    LOG("stopping");
    return hub_server_stop(to_stop, 1.0) == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, server_serve_forever_returns_once_stopped)
{
    to_stop = new_server(never_called, NULL);
    CHECK_OK(hub_spawn(NULL, stop_soon, NULL));
    CHECK_OK(hub_server_serve_forever(to_stop));
    LOG("returned");
    CHECK_LOG("stopping returned");
    CHECK_INT(hub_server_start(to_stop), HUB_EBUSY); /* a stopped server stays stopped */
    CHECK_OK(hub_server_free(to_stop));
}

static void *stops_its_server(int fd, void *arg)
{
    (void)fd;
    hub_server *s = *(hub_server **)arg;
    int rc = hub_server_stop(s, 5.0); /* does not wait for this handler itself */
    LOG("stop-from-handler:%s", hub_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, server_stopped_from_one_of_its_handlers)
{
    static hub_server *s;
    int fd;
    s = new_server(stops_its_server, &s);
    CHECK_OK(hub_server_start(s));
    CHECK_INT(hub_server_free(s), HUB_EBUSY); /* still serving */
    CHECK_OK(hub_tcp_connect(NULL, (uint16_t)port_of_listener, 10.0, &fd));
    CHECK_OK(hub_server_serve_forever(s));
    CHECK_OK(hub_sleep(0.001));
    CHECK_LOG("stop-from-handler:success");
    CHECK_OK(hub_server_free(s));
    hub_close(fd);
}
