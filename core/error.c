/* error.c — error records, readable names, and raising from a run function. */
#include <stdio.h>
#include <string.h>
#include "internal.h"

static const char *const names[] = {
    [GL_OK] = "success",
    [GL_EEXIT] = "GreenletExit",
    [GL_EINVAL] = "invalid argument",
    [GL_ETHREAD] = "greenlet belongs to another thread",
    [GL_ECYCLE] = "cyclic parent chain",
    [GL_EMAIN] = "not allowed on a main greenlet",
    [GL_ENORUN] = "greenlet has no run function",
    [GL_ESTARTED] = "greenlet already started",
    [GL_EBUSY] = "greenlet is running",
    [GL_ENOMEM] = "out of memory",
    [GL_ENOSTACK] = "no stack available",
    [GL_ESTACKSIZE] = "stack size outside the port's limits",
    [GL_ENOTDEAD] = "greenlet survived GreenletExit",
    [GL_ETRACE] = "trace function failed",
    [GL_ECLEANUP] = "released; it ended with an error while being killed",
    [GL_EDESTROYING] = "a gl_destroy of this greenlet is already in progress",
};

const char *gl_strerror(int code)
{
    if (code >= 0 && (size_t)code < sizeof names / sizeof names[0] && names[code])
        return names[code];
    if (code >= GL_EUSER)
        return "user error";
    return "unknown error";
}

void gl__error_set(gl_error *e, int code, void *data, const char *fmt, va_list ap)
{
    e->code = code;
    e->data = data;
    if (fmt)
        vsnprintf(e->message, sizeof e->message, fmt, ap);
    else
        snprintf(e->message, sizeof e->message, "%s", gl_strerror(code));
}

void gl__error_setf(gl_error *e, int code, void *data, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gl__error_set(e, code, data, fmt, ap);
    va_end(ap);
}

int gl__fail(int code, const char *fmt, ...)
{
    gl__thread *t = gl__thread_get();
    if (t) {
        va_list ap;
        va_start(ap, fmt);
        gl__error_set(&t->current->last_error, code, NULL, fmt, ap);
        va_end(ap);
    }
    return code;
}

static const gl_error no_error = {0, NULL, "no error"};

const gl_error *gl_last_error(void)
{
    gl__thread *t = gl__thread_get();
    return t ? &t->current->last_error : &no_error;
}

void *gl_raise(int code, void *data, const char *fmt, ...)
{
    gl__thread *t = gl__thread_get();
    if (!t)
        return NULL;
    gl_greenlet *self = t->current;
    va_list ap;
    va_start(ap, fmt);
    gl__error_set(&self->raised, code > 0 ? code : GL_EINVAL, data, fmt, ap);
    va_end(ap);
    self->raising = 1;
    return NULL;
}

void *gl_reraise(void)
{
    gl__thread *t = gl__thread_get();
    if (!t)
        return NULL;
    gl_greenlet *self = t->current;
    self->raised = self->last_error;
    if (self->raised.code <= 0)
        gl__error_setf(&self->raised, GL_EINVAL, NULL, "gl_reraise() with no error received");
    self->raising = 1;
    return NULL;
}
