/* error.c — the hub's error codes: names, and recording an error as the calling
 * greenlet's last error (by raising it into itself, the greenlet API's public way). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "hub_internal.h"

static const char *const names[] = {
    [HUB_ETIMEOUT - HUB_ETIMEOUT] = "timeout",
    [HUB_ELOOPEXIT - HUB_ETIMEOUT] = "this operation would block forever",
    [HUB_ECLOSED - HUB_ETIMEOUT] = "descriptor closed while waiting",
    [HUB_EFULL - HUB_ETIMEOUT] = "queue full",
    [HUB_EEMPTY - HUB_ETIMEOUT] = "queue empty",
    [HUB_EINVALIDSWITCH - HUB_ETIMEOUT] = "invalid switch into a waiting greenlet",
    [HUB_EBUSY - HUB_ETIMEOUT] = "busy",
    [HUB_EBLOCKING - HUB_ETIMEOUT] = "blocking call from the hub",
    [HUB_ESYS - HUB_ETIMEOUT] = "system call failed",
    [HUB_ELOOP - HUB_ETIMEOUT] = "loop backend unavailable",
    [HUB_ERELEASE - HUB_ETIMEOUT] = "released too many times",
    [HUB_EALREADY - HUB_ETIMEOUT] = "already set",
    [HUB_EDONE - HUB_ETIMEOUT] = "nothing left to wait for",
};

const char *hub_strerror(int code)
{
    if (code >= HUB_ETIMEOUT && code - HUB_ETIMEOUT < (int)(sizeof names / sizeof names[0]) &&
        names[code - HUB_ETIMEOUT])
        return names[code - HUB_ETIMEOUT];
    if (code >= HUB_ETIMEOUT && code < GL_EUSER)
        return "unknown hub error";
    return gl_strerror(code);
}

int hub_errno(void)
{
    const gl_error *e = gl_last_error();
    return e->code == HUB_ESYS ? (int)(intptr_t)e->data : 0;
}

static int fail_v(int code, void *data, const char *fmt, va_list ap)
{
    char message[GL_ERROR_MESSAGE_MAX];
    vsnprintf(message, sizeof message, fmt, ap);
    gl_greenlet *self = gl_current();
    if (self)
        gl_throw(self, code, data, "%s", message); /* raised into itself: returns at once */
    return code;
}

int hub__fail(int code, void *data, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(code, data, fmt, ap);
    va_end(ap);
    return code;
}

int hub__fail_errno(int err, const char *fmt, ...)
{
    char what[GL_ERROR_MESSAGE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return hub__fail(HUB_ESYS, (void *)(intptr_t)err, "%s: %s", what, strerror(err));
}
