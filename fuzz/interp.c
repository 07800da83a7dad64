/* interp.c — a fuzz program run on the greenlet API (see interp.h for the trace). */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include "greenlet.h"
#include "interp.h"

const char *const fz_coverage_names[FZ_COV_N] = {
#define FZ_COVERAGE_NAME(name) #name,
    FZ_COVERAGE(FZ_COVERAGE_NAME)
#undef FZ_COVERAGE_NAME
};

/* One program runs per process (the runner forks one child per program), on one
 * logical thread: plain globals are the interpreter's state. */
static struct {
    const fz_program *prog;
    fz_trace *trace;
    fz_coverage *cov;
    int n;
    gl_greenlet *g[FZ_MAX_GREENLETS];
    unsigned char released[FZ_MAX_GREENLETS]; /* the handle was given back */
    unsigned char began[FZ_MAX_GREENLETS];    /* its run function began */
    unsigned char ended[FZ_MAX_GREENLETS];    /* ... and returned */
    int destroying[FZ_MAX_GREENLETS];         /* gl_destroy calls of it in progress */
    int last_origin;                          /* origin of the last hook event */
    int trace_fail;                           /* the hook fails at its next call */
} S;

static void count(int what)
{
    if (S.cov)
        S.cov->count[what]++;
}

/* ---- the trace -------------------------------------------------------------------- */

static void emit_raw(const char *text, size_t len)
{
    static const char cut[] = "TRUNCATED\n";
    fz_trace *t = S.trace;
    if (t->truncated)
        return;
    if (t->len + len + sizeof cut > t->cap) {
        memcpy(t->buf + t->len, cut, sizeof cut - 1);
        t->len += sizeof cut - 1;
        t->truncated = 1;
        return;
    }
    memcpy(t->buf + t->len, text, len);
    t->len += len;
    if (t->published)
        *t->published = t->len;
    if (t->echo) {
        fwrite(text, 1, len, t->echo);
        fflush(t->echo);
    }
}

static __attribute__((format(printf, 1, 2))) void emit(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    emit_raw(line, (size_t)n);
}

uint64_t fz_trace_hash(const fz_trace *trace)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < trace->len; i++) {
        h ^= (unsigned char)trace->buf[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- names and states ------------------------------------------------------------- */

static int index_of(const gl_greenlet *g)
{
    for (int i = 0; i < S.n; i++)
        if (S.g[i] == g)
            return i;
    return -1;
}

static const char *value_text(char *buf, size_t sz, void *v)
{
    if (!v)
        return "nil";
    snprintf(buf, sz, "%ld", (long)(intptr_t)v);
    return buf;
}

/* "E<code>/<data>"; "E<code>(E<inner>/<data>)" when gl_last_error() holds another code
 * than the one returned (GL_ECLEANUP: the error the cleanup ended with). */
static const char *error_text2(char *buf, size_t sz, int code, int inner, void *data)
{
    char d[32];
    if (inner == code)
        snprintf(buf, sz, "E%d/%s", code, value_text(d, sizeof d, data));
    else
        snprintf(buf, sz, "E%d(E%d/%s)", code, inner, value_text(d, sizeof d, data));
    return buf;
}

static const char *error_text(char *buf, size_t sz, int code, void *data)
{
    return error_text2(buf, sz, code, code, data);
}

/* " | g0:R g1:A<g0 ..." appended to a result line (at most 8 greenlets of ~40 bytes). */
static void state_text(char *buf, size_t sz)
{
    size_t len = 0;
    len += (size_t)snprintf(buf + len, sz - len, " |");
    gl_greenlet *cur = gl_current();
    for (int i = 0; i < S.n && len < sz - 64; i++) {
        gl_greenlet *g = S.g[i];
        if (S.released[i]) {
            len += (size_t)snprintf(buf + len, sz - len, " g%d:-", i);
            continue;
        }
        int started = gl_started(g), active = gl_active(g), dead = gl_dead(g);
        char letter[32];
        if (!started && !active && !dead)
            snprintf(letter, sizeof letter, "U");
        else if (started && active && !dead)
            snprintf(letter, sizeof letter, g == cur ? "R" : "A");
        else if (started && !active && dead)
            snprintf(letter, sizeof letter, "D");
        else
            snprintf(letter, sizeof letter, "INCONSISTENT(s%da%dd%d)", started, active, dead);
        gl_greenlet *p = gl_parent(g);
        if (!p)
            len += (size_t)snprintf(buf + len, sz - len, " g%d:%s", i, letter);
        else if (index_of(p) >= 0)
            len += (size_t)snprintf(buf + len, sz - len, " g%d:%s<g%d", i, letter, index_of(p));
        else
            len += (size_t)snprintf(buf + len, sz - len, " g%d:%s<UNKNOWN", i, letter);
    }
}

static int trace_hook(gl_trace_event ev, gl_greenlet *origin, gl_greenlet *target, void *arg)
{
    (void)arg;
    S.last_origin = index_of(origin);
    emit("~%s g%d>g%d", ev == GL_TRACE_THROW ? "throw" : "switch", index_of(origin),
         index_of(target));
    if (S.trace_fail) { /* "the trace function raised": the target gets GL_ETRACE */
        S.trace_fail = 0;
        count(FZ_COV_trace_failed);
        return 1;
    }
    return 0;
}

/* ---- coverage of an op's situation (read before it runs) -------------------------- */

static int is_ancestor(gl_greenlet *maybe, gl_greenlet *of)
{
    for (gl_greenlet *p = gl_parent(of); p; p = gl_parent(p))
        if (p == maybe)
            return 1;
    return 0;
}

/* switch/throw: what kind of target it is. */
static void count_target(int self, gl_greenlet *t, int is_throw)
{
    gl_greenlet *cur = S.g[self];
    if (t == cur) {
        count(is_throw ? FZ_COV_throw_self : FZ_COV_switch_self);
    } else if (!gl_started(t)) {
        count(is_throw ? FZ_COV_throw_unstarted : FZ_COV_switch_unstarted);
    } else if (!gl_dead(t)) {
        count(is_throw ? FZ_COV_throw_suspended : FZ_COV_switch_suspended);
    } else {
        count(is_throw ? FZ_COV_throw_dead : FZ_COV_switch_dead);
        gl_greenlet *live = gl_parent(t);
        if (gl_dead(live))
            count(is_throw ? FZ_COV_throw_dead_dead_parent : FZ_COV_switch_dead_dead_parent);
        while (gl_dead(live))
            live = gl_parent(live);
        if (!is_throw && live == cur)
            count(FZ_COV_switch_dead_to_caller);
        if (!is_throw && !gl_started(live))
            count(FZ_COV_switch_dead_to_unstarted);
    }
}

/* ---- ops ---------------------------------------------------------------------------- */

typedef struct {
    int code;       /* 0: a value; else the error code the op returned */
    int inner;      /* the code of gl_last_error() (GL_ECLEANUP: the cleanup's error) */
    void *value;    /* the value, or gl_last_error()'s data */
    int ends;       /* return / raise: the script ends */
    int released;   /* destroy: the handle was given back */
} fz_result;

/* The error an op returned, as gl_last_error() describes it. */
static void take_error(fz_result *r, int rc)
{
    const gl_error *e = gl_last_error();
    r->code = rc;
    r->inner = e->code;
    r->value = e->data;
}

/* What the header's contract says of gl_destroy's return code: exactly GL_OK and
 * GL_ECLEANUP mean the handle was given back. */
static int destroy_released(int rc) { return rc == GL_OK || rc == GL_ECLEANUP; }

static void do_destroy(int self, const fz_op *op, fz_result *r)
{
    int t = op->target;
    gl_greenlet *g = S.g[t], *cur = S.g[self];
    int was_self = g == cur;
    int unstarted = !was_self && !gl_started(g), dead = !was_self && gl_dead(g);
    if (was_self)
        count(FZ_COV_destroy_self);
    else if (unstarted)
        count(FZ_COV_destroy_unstarted);
    else if (dead)
        count(FZ_COV_destroy_dead);
    if (S.destroying[t])
        count(FZ_COV_destroy_nested);
    if (!was_self && is_ancestor(g, cur))
        count(FZ_COV_destroy_ancestor);
    if (S.destroying[self])
        count(FZ_COV_destroy_from_cleanup);

    S.destroying[t]++;
    int rc = gl_destroy(g);
    S.destroying[t]--;
    if (rc)
        take_error(r, rc);
    r->released = destroy_released(rc);
    if (r->released)
        S.released[t] = 1;
    if (rc == GL_EDESTROYING)
        count(FZ_COV_destroy_refused_destroying);
    else if (rc == GL_ECYCLE)
        count(FZ_COV_destroy_refused_ancestor);
    else if (!was_self && !unstarted && !dead)
        count(rc == GL_ENOTDEAD ? FZ_COV_destroy_survived
              : rc == GL_OK ? FZ_COV_destroy_suspended_killed
                            : FZ_COV_destroy_suspended_error);
}

static void exec_op(int self, const fz_op *op, fz_result *r)
{
    void *v = NULL;
    int rc = GL_OK;
    gl_greenlet *t = S.g[op->target];
    switch (op->kind) {
    case FZ_SWITCH:
        count_target(self, t, 0);
        rc = gl_switch(t, (void *)(intptr_t)op->value, &v);
        break;
    case FZ_THROW:
        count_target(self, t, 1);
        if (op->code == GL_EEXIT)
            count(FZ_COV_throw_exit);
        else if (op->code < GL_EUSER)
            count(FZ_COV_throw_library_code);
        rc = gl_throw_r(t, &v, op->code, (void *)(intptr_t)op->value, "fuzz error %d",
                        op->code);
        break;
    case FZ_SET_PARENT:
        rc = gl_set_parent(t, S.g[op->other]);
        if (rc == GL_OK || rc == GL_ECYCLE || rc == GL_EMAIN)
            count(rc == GL_OK ? FZ_COV_set_parent_ok
                  : rc == GL_ECYCLE ? FZ_COV_set_parent_cycle : FZ_COV_set_parent_main);
        break;
    case FZ_DESTROY:
        do_destroy(self, op, r);
        return;
    case FZ_RETURN:
    case FZ_RAISE:
        r->ends = 1;
        return;
    case FZ_TRACE_FAIL:
        gl_settrace(trace_hook, NULL, NULL);
        S.trace_fail = 1;
        break;
    }
    if (rc)
        take_error(r, rc);
    else
        r->value = v;
}

/* Runs the op `depth` calls deep, each frame holding locals that must come back intact
 * across whatever switches happen below it (a stack-copying port moves them). */
static __attribute__((noinline)) void exec_nested(int self, int k, int depth, fz_result *r)
{
    const fz_op *op = &S.prog->script[self].ops[k];
    if (depth == 0) {
        exec_op(self, op, r);
        return;
    }
    volatile unsigned char frame[64 + 96 * FZ_MAX_DEPTH];
    size_t size = 64 + 96 * (size_t)depth;
    unsigned char seed = (unsigned char)(self * 31 + k * 7 + depth);
    for (size_t i = 0; i < size; i++)
        frame[i] = (unsigned char)(seed + i);
    exec_nested(self, k, depth - 1, r);
    for (size_t i = 0; i < size; i++)
        if (frame[i] != (unsigned char)(seed + i)) {
            emit("g%d.%d CORRUPT locals %d calls deep", self, k, depth);
            break;
        }
}

static void print_op(const char *label, int self, const fz_op *op)
{
    char e[64];
    switch (op->kind) {
    case FZ_SWITCH:
        emit("g%d.%s switch g%d %ld", self, label, op->target, op->value);
        break;
    case FZ_THROW:
        emit("g%d.%s throw g%d %s", self, label, op->target,
             error_text(e, sizeof e, op->code, (void *)(intptr_t)op->value));
        break;
    case FZ_SET_PARENT:
        emit("g%d.%s set_parent g%d g%d", self, label, op->target, op->other);
        break;
    case FZ_DESTROY:
        emit("g%d.%s destroy g%d", self, label, op->target);
        break;
    case FZ_RETURN:
        emit("g%d.%s return %ld", self, label, op->value);
        break;
    case FZ_RAISE:
        emit("g%d.%s raise %s", self, label,
             error_text(e, sizeof e, op->code, (void *)(intptr_t)op->value));
        break;
    case FZ_TRACE_FAIL:
        emit("g%d.%s trace_fail", self, label);
        break;
    }
}

static void print_result(const char *label, int self, const fz_op *op, const fz_result *r)
{
    char v[64], st[512];
    if (gl_current() != S.g[self])
        emit("g%d.%s WRONG CURRENT g%d", self, label, index_of(gl_current()));
    state_text(st, sizeof st);
    const char *what = r->code ? error_text2(v, sizeof v, r->code, r->inner, r->value)
                               : r->value ? value_text(v, sizeof v, r->value)
                               : op->kind == FZ_SWITCH || op->kind == FZ_THROW ? "nil" : "ok";
    if (op->kind == FZ_DESTROY)
        emit("g%d.%s = %s %s%s", self, label, what, r->released ? "released" : "held", st);
    else
        emit("g%d.%s = %s%s", self, label, what, st);
}

/* An op naming a released greenlet is not run (its handle is gone). */
static int names_released(const fz_op *op)
{
    switch (op->kind) {
    case FZ_SWITCH:
    case FZ_THROW:
    case FZ_DESTROY:
        return S.released[op->target];
    case FZ_SET_PARENT:
        return S.released[op->target] || S.released[op->other];
    }
    return 0;
}

/* Runs ops of `self` from k on; returns what ends the script (user greenlets). */
static void *run_script(int self)
{
    const fz_script *s = &S.prog->script[self];
    char e[64], label[16];
    for (int k = 0; k < s->nops; k++) {
        const fz_op *op = &s->ops[k];
        snprintf(label, sizeof label, "%d", k);
        print_op(label, self, op);
        if (names_released(op)) {
            count(FZ_COV_skipped_released);
            emit("g%d.%d skipped (released)", self, k);
            continue;
        }
        count(FZ_COV_ops);
        if (op->depth)
            count(FZ_COV_ops_nested);
        fz_result r = {0};
        exec_nested(self, k, op->depth, &r);
        if (op->kind == FZ_RETURN) {
            count(FZ_COV_end_return);
            emit("g%d end return %ld", self, op->value);
            return (void *)(intptr_t)op->value;
        }
        if (op->kind == FZ_RAISE) {
            count(FZ_COV_end_raise);
            emit("g%d end raise %s", self,
                 error_text(e, sizeof e, op->code, (void *)(intptr_t)op->value));
            return gl_raise(op->code, (void *)(intptr_t)op->value, "fuzz error %d", op->code);
        }
        print_result(label, self, op, &r);
        if (r.code)
            count(FZ_COV_error_received);
        if (r.code && op->reraise) {
            count(FZ_COV_end_reraise);
            /* gl_reraise() raises gl_last_error(): for GL_ECLEANUP, the cleanup's error */
            emit("g%d end reraise %s", self, error_text(e, sizeof e, r.inner, r.value));
            return gl_reraise();
        }
    }
    if (self) {
        count(FZ_COV_end_fall_off);
        emit("g%d end return %ld", self, fz_fall_off_value(self));
    }
    return (void *)(intptr_t)fz_fall_off_value(self);
}

static void count_end(int self)
{
    gl_greenlet *p = gl_parent(S.g[self]);
    if (gl_dead(p))
        count(FZ_COV_end_into_dead_parent);
    while (gl_dead(p))
        p = gl_parent(p);
    if (!gl_started(p))
        count(FZ_COV_end_into_unstarted);
}

static void *greenlet_body(void *arg)
{
    int self = (int)(intptr_t)gl_userdata(gl_current());
    char v[32];
    S.began[self] = 1;
    count(FZ_COV_start);
    if (!arg)
        count(FZ_COV_start_nil);
    if (S.last_origin > 0 && S.ended[S.last_origin])
        count(FZ_COV_start_by_death);
    emit("g%d start %s", self, value_text(v, sizeof v, arg));
    void *ret = run_script(self);
    count_end(self);
    S.ended[self] = 1;
    return ret;
}

/* After main's script: destroy what is still held, in order, pass after pass (a cleanup
 * may survive GreenletExit by switching away; every pass moves some script forward, so
 * the number of passes is bounded by the number of ops). */
static void final_destroys(void)
{
    int bound = S.n + 2;
    for (int g = 0; g < S.n; g++)
        bound += S.prog->script[g].nops;
    for (int pass = 0; pass < bound; pass++) {
        int held = 0;
        for (int t = 1; t < S.n; t++) {
            if (S.released[t])
                continue;
            held = 1;
            count(pass ? FZ_COV_final_second_pass : FZ_COV_final_destroy);
            fz_op op = {.kind = FZ_DESTROY, .target = (uint8_t)t};
            print_op("final", 0, &op);
            fz_result r = {0};
            do_destroy(0, &op, &r);
            print_result("final", 0, &op, &r);
        }
        if (!held)
            return;
    }
    emit("FINAL DESTROYS DID NOT END after %d passes", bound);
}

void fz_run(const fz_program *p, fz_trace *trace, fz_coverage *cov)
{
    memset(&S, 0, sizeof S);
    S.prog = p;
    S.trace = trace;
    S.cov = cov;
    S.n = p->ngreenlets;
    S.g[0] = gl_main();
    for (int i = 1; i < S.n; i++) {
        int rc = gl_new(&S.g[i], greenlet_body, S.g[p->parent[i]]);
        if (rc != GL_OK) {
            emit("SETUP FAILED: gl_new: %s", gl_strerror(rc));
            return;
        }
        gl_set_userdata(S.g[i], (void *)(intptr_t)i);
    }
    gl_settrace(trace_hook, NULL, NULL);
    run_script(0);
    final_destroys();
    gl_settrace(NULL, NULL, NULL);
    for (int i = 1; i < S.n; i++)
        if (S.released[i] && S.began[i] && !S.ended[i]) {
            count(FZ_COV_left_suspended);
            emit("g%d left suspended after release", i);
        }
    char st[512];
    state_text(st, sizeof st);
    emit("end%s", st);
}
