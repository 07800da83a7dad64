/* Waiting with a limit, and for the first of several things: hub_with_timeout
 * (gevent's with_timeout), hub_wait / hub_iwait (gevent's wait / iwait). Behaviours
 * checked against gevent 22.10.2. */
#include <math.h>
#include <stdint.h>
#include <time.h>
#include "greenlet.h"
#include "hub.h"
#include "suite.h"

/* ---- hub_with_timeout --------------------------------------------------------------- */

static int sleep_for(void *arg) { return hub_sleep(*(const double *)arg); }

static int fails_with_a_user_error(void *arg)
{
    (void)arg;
    return gl_throw(gl_current(), GL_EUSER + 3, NULL, "bad input");
}

CASE(hub, with_timeout_returns_what_the_function_returns)
{
    static const double short_sleep = 0.001;
    int timed_out = -1;
    CHECK_OK(hub_with_timeout(5.0, sleep_for, (void *)&short_sleep, &timed_out));
    CHECK_INT(timed_out, 0);
    CHECK_INT(hub_with_timeout(5.0, fails_with_a_user_error, NULL, &timed_out), GL_EUSER + 3);
    CHECK_STR(gl_last_error()->message, "bad input");
    CHECK_INT(timed_out, 0);
    CHECK_INT(hub_with_timeout(5.0, NULL, NULL, NULL), GL_EINVAL);
    CHECK_INT(hub_with_timeout(NAN, sleep_for, (void *)&short_sleep, NULL), GL_EINVAL);
    CHECK_OK(hub_sleep(0.01)); /* no timeout is left armed */
}

/* gevent: Timeout raised without timeout_value; timeout_value returned with it. */
CASE(hub, with_timeout_that_fires_is_etimeout_or_the_callers_default)
{
    static const double long_sleep = 30;
    int timed_out = -1;
    CHECK_INT(hub_with_timeout(0.005, sleep_for, (void *)&long_sleep, NULL), HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, NULL);
    CHECK_OK(hub_with_timeout(0.005, sleep_for, (void *)&long_sleep, &timed_out));
    CHECK_INT(timed_out, 1);
}

static int inner_with_timeout(void *arg)
{
    static const double long_sleep = 30;
    int *timed_out = arg;
    return hub_with_timeout(5.0, sleep_for, (void *)&long_sleep, timed_out);
}

/* gevent's test_nested_with_timeout: the outer Timeout fires inside the inner
 * with_timeout, which passes it on (its own default value is not returned). */
CASE(hub, with_timeout_passes_on_an_enclosing_timeout)
{
    hub_timeout *outer;
    int timed_out = -1;
    CHECK_OK(hub_timeout_start(&outer, 0.005));
    CHECK_INT(inner_with_timeout(&timed_out), HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, outer);
    CHECK_INT(timed_out, 0);
    CHECK_OK(hub_timeout_cancel(outer));
}

static int catches_its_timeout(void *arg)
{
    (void)arg;
    int rc = hub_sleep(30);
    LOG("caught:%s", hub_strerror(rc));
    return rc == HUB_ETIMEOUT ? HUB_OK : rc;
}

/* gevent: a function that catches the Timeout and returns: its return stands. */
CASE(hub, with_timeout_function_that_handles_the_timeout_has_the_last_word)
{
    int timed_out = -1;
    CHECK_OK(hub_with_timeout(0.005, catches_its_timeout, NULL, &timed_out));
    CHECK_INT(timed_out, 0);
    CHECK_LOG("caught:timeout");
}

static int busy_then_yield(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL); /* past the deadline, without the hub running */
    return hub_sleep(0);  /* its wake-up is queued before the timer is seen to be due */
}

/* gevent: 'done without blocking', and with_timeout(0, sleep, 0) returns normally: a
 * timeout that comes due after the function's last wait began does not interrupt it. */
CASE(hub, with_timeout_that_expires_while_the_function_does_not_wait_changes_nothing)
{
    int timed_out = -1;
    CHECK_OK(hub_with_timeout(0.001, busy_then_yield, NULL, &timed_out));
    CHECK_INT(timed_out, 0);
    CHECK_OK(hub_sleep(0.005)); /* and nothing is thrown in later */
}
