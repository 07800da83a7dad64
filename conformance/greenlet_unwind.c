/* Unwinding: the program's own unwinder (libgcc's, the one C++ exceptions, profilers
 * and sanitizers use) walks a greenlet's stack from inside it to its first frame and
 * stops there cleanly, without running into another greenlet's or the creator's
 * frames. It follows the unwind information (CFI) of every frame, the switch's
 * trampoline included, on every port and architecture. */
#include <stdint.h>
#include <unwind.h>
#include "greenlet.h"
#include "suite.h"

enum { MAX_FRAMES = 64 };

typedef struct walk {
    void *fn[MAX_FRAMES]; /* start of the function of each frame, innermost first */
    int n;
    int rc;
} walk;

static _Unwind_Reason_Code record(struct _Unwind_Context *ctx, void *arg)
{
    walk *w = arg;
    if (w->n == MAX_FRAMES)
        return _URC_NORMAL_STOP; /* runaway: reported by the case */
    int before_insn = 0;
    uintptr_t ip = _Unwind_GetIPInfo(ctx, &before_insn);
    if (ip == 0)
        return _URC_NO_REASON; /* past the outermost frame: the walk ends by itself */
    /* A return address may be just past its call's function: look the call up. */
    w->fn[w->n++] = _Unwind_FindEnclosingFunction((void *)(ip - (before_insn ? 0 : 1)));
    return _URC_NO_REASON;
}

static __attribute__((noinline)) void unwind_here(walk *w)
{
    w->n = 0;
    w->rc = _Unwind_Backtrace(record, w);
    __asm__ volatile("" ::: "memory"); /* not a tail call: this frame stays */
}

static int has(const walk *w, void *fn)
{
    for (int i = 0; i < w->n; i++)
        if (w->fn[i] == fn)
            return 1;
    return 0;
}

static walk first, after_resume;

static void *walk_twice(void *arg)
{
    (void)arg;
    void *again;
    unwind_here(&first);
    if (gl_switch(gl_parent(gl_current()), NULL, &again) != GL_OK)
        return gl_reraise();
    unwind_here(&after_resume);
    return again;
}

static void check_walk(const walk *w, void *case_fn)
{
    if (w->rc != _URC_END_OF_STACK)
        suite_fail(__FILE__, __LINE__, "the unwinder stopped with %d after %d frames, not at "
                   "the end of the stack (%d)", w->rc, w->n, _URC_END_OF_STACK);
    CHECK(w->n < MAX_FRAMES);
    CHECK(has(w, (void *)unwind_here));
    CHECK(has(w, (void *)walk_twice)); /* the greenlet's run function */
    CHECK(!has(w, case_fn));           /* nothing of the creator's stack */
}

static __attribute__((noinline)) void start_and_resume(void)
{
    gl_greenlet *g;
    void *r;
    CHECK_OK(gl_new(&g, walk_twice, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_OK(gl_switch(g, &first, &r)); /* resumed: it unwinds again, then ends */
    CHECK_PTR(r, &first);
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, unwinding_inside_a_greenlet_ends_cleanly_at_its_first_frame)
{
    start_and_resume();
    check_walk(&first, (void *)start_and_resume);
}

CASE(greenlet, unwinding_inside_a_resumed_greenlet_ends_cleanly_at_its_first_frame)
{
    start_and_resume();
    check_walk(&after_resume, (void *)start_and_resume);
}

static walk in_main;

CASE(greenlet, unwinding_in_main_after_greenlets_ran_still_reaches_the_caller)
{
    start_and_resume();
    unwind_here(&in_main);
    CHECK_INT(in_main.rc, _URC_END_OF_STACK);
    CHECK(has(&in_main, (void *)unwind_here));
    CHECK(!has(&in_main, (void *)walk_twice));
}
