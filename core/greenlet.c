/* greenlet.c — greenlet semantics over the port interface: creation, switch, throw,
 * the parent walk, death, destruction, tracing. Written once for every port. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static _Atomic size_t default_stack_size; /* 0: the port's default */

gl_greenlet *gl__greenlet_alloc(gl__thread *t)
{
    size_t span = GL__PORT_CTX_SPAN(gl__port_ctx_size);
    char *mem = calloc(1, span + sizeof(gl_greenlet));
    if (!mem)
        return NULL;
    gl_greenlet *g = (gl_greenlet *)(mem + span);
    g->thread = t;
    gl__live_link(t, g);
    return g;
}

void gl__greenlet_free(gl_greenlet *g)
{
    gl__live_unlink(g);
    if (g->errors != &g->thread->spare_errors)
        free(g->errors);
    free((char *)g - GL__PORT_CTX_SPAN(gl__port_ctx_size));
}

void gl__set_guard(gl_greenlet *g, void *stack_lo)
{
    g->guard = stack_lo;
}

gl_greenlet *gl__running_guard(void **lo, void **hi)
{
    gl__thread *t = gl__tls_thread;
    gl_greenlet *g = t ? t->current : NULL;
    *hi = g ? g->guard : NULL;
    *lo = *hi ? (char *)*hi - GL__GUARD_BYTES : NULL;
    return g;
}

/* ---- references -------------------------------------------------------------- */

void gl__greenlet_ref(gl_greenlet *g) { atomic_fetch_add(&g->refs, 1); }

void gl__greenlet_unref(gl_greenlet *g)
{
    /* Iterative: freeing a greenlet drops its reference to its parent. */
    while (g && atomic_fetch_sub(&g->refs, 1) == 1) {
        gl_greenlet *parent = g->parent;
        gl__thread *t = g->thread;
        if (!g->is_main && !g->released) {
            g->released = 1;
            gl__port_release(g);
        }
        gl__greenlet_free(g);
        gl__thread_unref(t);
        g = parent;
    }
}

void gl__drop_alive_refs(gl__thread *t)
{
    /* Records kept only by their own reference (nothing names them any more) are freed
     * last, from a list: freeing one frees parents too, which may be anywhere in the
     * registry. None of them is another's parent (that would be a second reference),
     * so no free reaches one of them early. The current greenlet (pthread_exit called
     * in a greenlet) keeps its reference if it is the last: this very stack is its. */
    size_t orphans = 0;
    for (gl_greenlet *g = t->live; g; g = g->live_next) {
        if (!g->alive_ref)
            continue;
        if (atomic_load(&g->refs) > 1) { /* someone else keeps it: cannot free it here */
            g->alive_ref = 0;
            atomic_fetch_sub(&g->refs, 1);
        } else if (g != t->current) {
            orphans++;
        }
    }
    if (!orphans)
        return;
    gl_greenlet **list = malloc(orphans * sizeof *list);
    if (!list)
        return; /* out of memory at thread exit: they stay, as Python's uncollectable */
    size_t n = 0;
    for (gl_greenlet *g = t->live; g; g = g->live_next)
        if (g->alive_ref && g != t->current) {
            g->alive_ref = 0;
            list[n++] = g;
        }
    for (size_t i = 0; i < n; i++)
        gl__greenlet_unref(list[i]);
    free(list);
}

/* ---- stack sizes ------------------------------------------------------------- */

static int stack_size_ok(size_t size)
{
    const gl_port_info *p = &gl__port_info;
    return size >= p->min_stack_size && (p->max_stack_size == 0 || size <= p->max_stack_size);
}

int gl_set_default_stack_size(size_t size)
{
    if (!stack_size_ok(size))
        return gl__fail(GL_ESTACKSIZE, "stack size %zu outside [%zu, %zu] for port %s", size,
                        gl__port_info.min_stack_size, gl__port_info.max_stack_size,
                        gl__port_info.name);
    atomic_store(&default_stack_size, size);
    return GL_OK;
}

size_t gl_default_stack_size(void)
{
    size_t s = atomic_load(&default_stack_size);
    return s ? s : gl__port_info.default_stack_size;
}

/* ---- creation ---------------------------------------------------------------- */

int gl_new_with_stack(gl_greenlet **out, gl_run_fn run, gl_greenlet *parent, size_t stack_size)
{
    if (!out)
        return gl__fail(GL_EINVAL, "gl_new: `out` is NULL");
    *out = NULL;
    gl__thread *t = gl__thread_get();
    if (!t)
        return GL_ENOMEM;
    if (!parent)
        parent = t->current;
    else if (parent->thread != t)
        return gl__fail(GL_ETHREAD, "gl_new: the parent belongs to another thread");
    if (stack_size == 0)
        stack_size = gl_default_stack_size();
    else if (!stack_size_ok(stack_size))
        return gl__fail(GL_ESTACKSIZE, "stack size %zu outside [%zu, %zu] for port %s",
                        stack_size, gl__port_info.min_stack_size,
                        gl__port_info.max_stack_size, gl__port_info.name);

    gl_greenlet *g = gl__greenlet_alloc(t);
    if (!g)
        return gl__fail(GL_ENOMEM, "gl_new: out of memory for the greenlet");
    atomic_init(&g->refs, 1);
    g->user_ref = 1;
    g->parent = parent;
    g->run = run;
    int rc = gl__port_prepare(g, stack_size);
    if (rc != GL_OK) {
        gl__greenlet_free(g);
        return gl__fail(rc, "gl_new: %s (stack of %zu bytes, port %s)", gl_strerror(rc),
                        stack_size, gl__port_info.name);
    }
    atomic_fetch_add(&t->refs, 1);
    gl__greenlet_ref(parent);
    *out = g;
    return GL_OK;
}

int gl_new(gl_greenlet **out, gl_run_fn run, gl_greenlet *parent)
{
    return gl_new_with_stack(out, run, parent, 0);
}

/* ---- the switch ---------------------------------------------------------------- */

void gl__release_finished(gl__thread *t)
{
    gl_greenlet *f = t->finished;
    gl__set_finished(t, NULL);
    if (!f->released) {
        f->released = 1;
        gl__port_release(f);
    }
    gl__greenlet_unref(f);
}

/* The trace hook sees a switch or throw arrive at `self`; returns whether an error is
 * in flight now. Out of line so that its saved error (160-byte message) stays out of
 * every switch's frame: a stack-copying port copies those frames on each switch. */
static __attribute__((noinline)) int trace_arrival(gl__thread *t, gl_greenlet *self,
                                                   int is_error)
{
    gl_trace_fn fn = t->trace;
    gl_error saved;
    if (is_error)
        saved = t->xfer.error; /* the hook may switch and reuse the transfer slot */
    int failed = fn(is_error ? GL_TRACE_THROW : GL_TRACE_SWITCH, t->xfer.origin, self,
                    t->trace_arg);
    if (is_error)
        t->xfer.error = saved;
    if (failed) {
        gl__set_trace(t, NULL, NULL);
        is_error = 1;
        gl__error_setf(&t->xfer.error, GL_ETRACE, NULL,
                       "trace function returned %d; tracing removed", failed);
    }
    return is_error;
}

/* What `self` gets when it resumes: the transfer in flight, seen through the trace
 * hook. Runs on `self`'s context right after the port switched to it. */
static inline __attribute__((always_inline)) int receive(gl__thread *t, gl_greenlet *self,
                                                         void **result)
{
    if (t->finished)
        gl__release_finished(t); /* its stack is no longer in use */
    int is_error = t->arrival.is.error;
    void *value = t->xfer.value;
    if (t->trace)
        is_error = trace_arrival(t, self, is_error);
    if (is_error) {
        gl__errors *e = gl__errors_of(self);
        e->last = t->xfer.error;
        if (result)
            *result = NULL;
        return e->last.code;
    }
    if (result)
        *result = value;
    return GL_OK;
}

/* Move control to `target` (live, startable) with the transfer already filled in. */
static inline __attribute__((always_inline)) int switch_to(gl__thread *t, gl_greenlet *target,
                                                           void **result)
{
    gl_greenlet *self = t->current;
    t->xfer.origin = self;
    if (target != self) {
        unsigned char was_started = target->started;
        t->current = target;
        target->started = 1;
        gl__port_switch(self, target);
        if (__builtin_expect(t->arrival.is.refused, 0)) {
            t->arrival.is.refused = 0;
            t->current = self;
            target->started = was_started;
            return gl__last_error_of(self)->code; /* recorded by gl__port_switch_refused */
        }
    }
    return receive(t, self, result);
}

void gl__port_switch_refused(gl_greenlet *from, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gl__error_set(&gl__errors_of(from)->last, code, NULL, fmt, ap);
    va_end(ap);
    from->thread->arrival.is.refused = 1;
}

/* The first greenlet of g's chain that is not dead. */
static gl_greenlet *first_live(gl_greenlet *g)
{
    while (g->finished)
        g = g->parent;
    return g;
}

static inline int check_target(gl__thread *t, gl_greenlet *g, const char *what)
{
    if (!t)
        return GL_ENOMEM;
    if (!g)
        return gl__fail(GL_EINVAL, "%s: greenlet is NULL", what);
    if (g->thread != t)
        return gl__fail(GL_ETHREAD, "%s: cannot switch to a different thread%s", what,
                        atomic_load(&g->thread->exited) ? " (which happens to have exited)" : "");
    return GL_OK;
}

/* Every switch but the common one: a first switch into a greenlet, a dead target, the
 * caller itself, another thread's greenlet, a thread's first call. */
static __attribute__((noinline)) int switch_general(gl_greenlet *g, void *value,
                                                    void **result)
{
    if (result)
        *result = NULL;
    gl__thread *t = gl__thread_get();
    int rc = check_target(t, g, "gl_switch");
    if (rc != GL_OK)
        return rc;
    gl_greenlet *target = first_live(g);
    if (!target->started && !target->run)
        return gl__fail(GL_ENORUN, "gl_switch: the greenlet has no run function");
    t->arrival.is.error = 0;
    t->xfer.value = value;
    return switch_to(t, target, result);
}

/* The fast path's arrival when arrival.any says there is more than a value: the port
 * refused, a dead greenlet to release, a trace hook, an error. */
static __attribute__((noinline)) int arrive_general(gl__thread *t, gl_greenlet *self,
                                                    void **result)
{
    if (t->arrival.is.refused) {
        t->arrival.is.refused = 0;
        t->current = self;
        if (result)
            *result = NULL;
        return gl__last_error_of(self)->code; /* recorded by gl__port_switch_refused */
    }
    return receive(t, self, result);
}

/* The switch a greenlet program spends its time in, kept to what its semantics need
 * (profiled with callgrind: 54 instructions of bookkeeping per switch before, on
 * asm_separate): a suspended greenlet of this thread, other than the caller, resumed
 * with a value, no trace hook. The rest goes out of line (switch_general,
 * arrive_general), so this path keeps few registers and a small frame (which a
 * stack-copying port copies on every switch). */
int gl_switch(gl_greenlet *g, void *value, void **result)
{
    gl__thread *t = gl__tls_thread;
    gl_greenlet *self;
    /* A thread's first call (t NULL) fails `g->thread != t`: a greenlet has a thread. */
    if (__builtin_expect(!g || g->thread != t || !g->started || g->finished ||
                         (self = t->current) == g, 0))
        return switch_general(g, value, result);
    t->xfer.origin = self;
    t->xfer.value = value;
    t->arrival.is.error = 0;
    t->current = g;
    gl__port_switch(self, g);
    if (__builtin_expect(t->arrival.any != 0, 0))
        return arrive_general(t, self, result);
    if (result)
        *result = t->xfer.value;
    return GL_OK;
}

static int throw_v(gl_greenlet *g, void **result, int code, void *data, const char *fmt,
                   va_list ap)
{
    if (result)
        *result = NULL;
    gl__thread *t = gl__thread_get();
    int rc = check_target(t, g, "gl_throw");
    if (rc != GL_OK)
        return rc;
    if (code <= 0)
        return gl__fail(GL_EINVAL, "gl_throw: error code must be > 0, not %d", code);
    gl_greenlet *target = first_live(g);
    if (!target->started && !target->run)
        return gl__fail(GL_ENORUN, "gl_throw: the greenlet has no run function");
    if (g->finished && code == GL_EEXIT) {
        /* A dead greenlet eats GreenletExit: it becomes a plain value (none for a
         * greenlet it starts, as Python calls run() with no arguments). */
        t->arrival.is.error = 0;
        t->xfer.value = target->started ? data : NULL;
    } else {
        t->arrival.is.error = 1;
        gl__error_set(&t->xfer.error, code, data, fmt, ap);
    }
    return switch_to(t, target, result);
}

int gl_throw(gl_greenlet *g, int code, void *data, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = throw_v(g, NULL, code, data, fmt, ap);
    va_end(ap);
    return rc;
}

int gl_throw_r(gl_greenlet *g, void **result, int code, void *data, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = throw_v(g, result, code, data, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- birth and death ------------------------------------------------------------ */

/* The first switch into `self` arrives here: receive it and run `run`, ending with a
 * tail call to it, so that nothing of this frame stays under the running greenlet (the
 * frames under a suspended greenlet are what a stack-copying port copies). Returns
 * run's result; self->raising says it raised (errors->raised), also when it was thrown
 * into before it started (run never executes). */
static __attribute__((noinline)) void *run_once(gl_greenlet *self)
{
    void *arg = NULL;
    if (receive(self->thread, self, &arg) != GL_OK) {
        gl__errors *e = gl__errors_of(self);
        e->raised = e->last;
        self->raising = 1;
        return NULL;
    }
    self->raising = 0;
    return self->run(arg); /* started: gl_run() says NULL from now on */
}

/* `self` has ended with `ret` (or raised): its outcome goes to the first live
 * ancestor, and it leaves for good. */
static __attribute__((noinline, noreturn)) void die(gl_greenlet *self, void *ret)
{
    gl__thread *t = self->thread;
    int failed = self->raising;
    self->raising = 0;
    self->finished = 1;
    int exited = failed && gl__errors_of(self)->raised.code == GL_EEXIT;
    if (exited) {
        failed = 0; /* GreenletExit ends a greenlet quietly */
        ret = gl__errors_of(self)->raised.data;
    }

    /* The result goes to the first live ancestor; an unstarted one is started with
     * it (with nothing after GreenletExit, as Python greenlet starts it with no
     * arguments), and one that cannot start passes a GL_ENORUN error further up. */
    gl_greenlet *target = self->parent;
    for (;;) {
        target = first_live(target);
        if (target->started || target->run)
            break;
        failed = 1;
        gl__error_setf(&gl__errors_of(self)->raised, GL_ENORUN, NULL,
                       "parent greenlet has no run function");
        target = target->parent;
    }
    if (exited && !target->started)
        ret = NULL;
    t->xfer.origin = self;
    t->arrival.is.error = (unsigned char)failed;
    if (failed)
        t->xfer.error = gl__errors_of(self)->raised;
    else
        t->xfer.value = ret;
    self->alive_ref = 0; /* gl__entry's reference: the next greenlet to run drops it */
    gl__set_finished(t, self); /* the next greenlet to run releases our stack */
    t->current = target;
    target->started = 1;
    gl__port_switch_final(self, target);
}

/* A running greenlet holds its own record: its handle may have been given back while
 * it was unstarted (a child naming it as parent kept the record, and the child's death
 * started it), and the last child may go while it runs. */
void gl__entry(gl_greenlet *self)
{
    gl__greenlet_ref(self);
    self->alive_ref = 1;
    die(self, run_once(self));
}

/* The one way a parent changes (gl_set_parent, and gl_destroy's kill and its undo):
 * refused when `parent` has `g` in its chain, so a chain never becomes a cycle and
 * every walk up it ends at main. */
static int reparent(gl_greenlet *g, gl_greenlet *parent)
{
    for (gl_greenlet *p = parent; p; p = p->parent)
        if (p == g)
            return GL_ECYCLE;
    gl__greenlet_ref(parent);
    gl_greenlet *old = g->parent;
    g->parent = parent;
    gl__greenlet_unref(old);
    return GL_OK;
}

/* The destroyer was resumed (with `rc`) while its victim is still alive. Out of line:
 * the copied error stays out of the frame that waits for the death. */
static __attribute__((noinline)) int survived(gl_greenlet *self, int rc)
{
    if (rc == GL_OK)
        return gl__fail(GL_ENOTDEAD, "gl_destroy: GreenletExit did not kill the greenlet (it "
                                     "switched back with a value); it is alive and still yours");
    gl_error got = *gl__last_error_of(self);
    return gl__fail(GL_ENOTDEAD, "gl_destroy: GreenletExit did not kill the greenlet (the "
                                 "caller was resumed by error %d: %.60s); it is alive and "
                                 "still yours", got.code, got.message);
}

/* Raises GreenletExit in suspended `g` with the caller as its parent meanwhile, so
 * that its death comes back here; then gives it its parent back. Returns GL_OK if it
 * died quietly, GL_ECLEANUP if it died with an error (in the caller's last error),
 * GL_ENOTDEAD if it survived, GL_ECYCLE if the caller descends from it. */
static int kill_for_destroy(gl__thread *t, gl_greenlet *g)
{
    gl_greenlet *self = t->current, *saved_parent = g->parent;
    gl__greenlet_ref(saved_parent); /* g's reference to it goes with the reparent */
    if (reparent(g, self) != GL_OK) {
        gl__greenlet_unref(saved_parent);
        return gl__fail(GL_ECYCLE, "gl_destroy: the greenlet is an ancestor of the running "
                                   "one (its death would return into its own descendant: "
                                   "cyclic parent chain); destroy it from outside its "
                                   "subtree");
    }
    gl__greenlet_ref(g); /* the destroy in progress */
    g->destroying = 1;
    int rc = gl_throw(g, GL_EEXIT, NULL,
                      "Killing the greenlet because all references have vanished.");
    g->destroying = 0;
    /* The original parent comes back, unless the cleanup made that a cycle (it put
     * the original parent under g): then g keeps the parent it has now. */
    reparent(g, saved_parent);
    gl__greenlet_unref(saved_parent);
    int dead = g->finished;
    gl__greenlet_unref(g);
    if (!dead)
        return survived(t->current, rc);
    return rc == GL_OK ? GL_OK : GL_ECLEANUP; /* last_error keeps the error's own code */
}

int gl_destroy(gl_greenlet *g)
{
    if (!g)
        return gl__fail(GL_EINVAL, "gl_destroy: greenlet is NULL");
    if (g->is_main)
        return gl__fail(GL_EMAIN, "gl_destroy: a main greenlet belongs to its thread");
    if (!g->user_ref)
        return gl__fail(GL_EINVAL, "gl_destroy: the greenlet was already destroyed");
    gl__thread *t = gl__thread_get();
    if (!t)
        return GL_ENOMEM;
    if (g->thread != t) {
        if (!atomic_load(&g->thread->exited))
            return gl__fail(GL_ETHREAD, "gl_destroy: the greenlet belongs to another thread");
        /* Its thread is gone: nothing can ever run it again, so just release it (and
         * drop the reference of a destroy the thread was in when it exited). */
        if (g->destroying) {
            g->destroying = 0;
            gl__greenlet_unref(g);
        }
        g->user_ref = 0;
        gl__greenlet_unref(g);
        return GL_OK;
    }
    if (g->destroying)
        return gl__fail(GL_EDESTROYING, "gl_destroy: a gl_destroy of this greenlet is already "
                                        "in progress (its cleanup switched away); that one "
                                        "releases it");
    if (g == t->current)
        return gl__fail(GL_EBUSY, "gl_destroy: cannot destroy the running greenlet");

    int rc = GL_OK;
    if (g->started && !g->finished) {
        rc = kill_for_destroy(t, g);
        if (rc != GL_OK && rc != GL_ECLEANUP)
            return rc; /* not released */
    }
    g->user_ref = 0;
    gl__greenlet_unref(g);
    return rc;
}

/* ---- parent, run, introspection ------------------------------------------------- */

int gl_set_parent(gl_greenlet *g, gl_greenlet *parent)
{
    if (!g || !parent)
        return gl__fail(GL_EINVAL, "gl_set_parent: %s is NULL", g ? "parent" : "greenlet");
    if (g->is_main)
        return gl__fail(GL_EMAIN, "cannot set the parent of a main greenlet");
    gl__thread *t = gl__thread_get();
    if (!t)
        return GL_ENOMEM;
    if (g->thread != t || parent->thread != t)
        return gl__fail(GL_ETHREAD, "parent cannot be on a different thread");
    if (reparent(g, parent) != GL_OK)
        return gl__fail(GL_ECYCLE, "cyclic parent chain");
    return GL_OK;
}

int gl_set_run(gl_greenlet *g, gl_run_fn run)
{
    if (!g)
        return gl__fail(GL_EINVAL, "gl_set_run: greenlet is NULL");
    if (g->is_main)
        return gl__fail(GL_EMAIN, "main greenlets do not have a run function");
    gl__thread *t = gl__thread_get();
    if (!t)
        return GL_ENOMEM;
    if (g->thread != t)
        return gl__fail(GL_ETHREAD, "gl_set_run: the greenlet belongs to another thread");
    if (g->started)
        return gl__fail(GL_ESTARTED, "run cannot be set after the start of the greenlet");
    g->run = run;
    return GL_OK;
}

gl_greenlet *gl_parent(const gl_greenlet *g) { return g ? g->parent : NULL; }
int gl_started(const gl_greenlet *g) { return g && g->started; }
int gl_active(const gl_greenlet *g) { return g && g->started && !g->finished; }
int gl_dead(const gl_greenlet *g) { return g && g->started && g->finished; }
int gl_is_main(const gl_greenlet *g) { return g && g->is_main; }
gl_run_fn gl_run(const gl_greenlet *g) { return g && !g->started ? g->run : NULL; }
void gl_set_userdata(gl_greenlet *g, void *data) { if (g) g->userdata = data; }
void *gl_userdata(const gl_greenlet *g) { return g ? g->userdata : NULL; }
