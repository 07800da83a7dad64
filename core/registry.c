/* registry.c — every greenlet record of a thread that is not yet freed, main included:
 * what gl_live_count() counts for leak checks and what a debugger lists
 * (tools/gdb/switchyard.py walks gl__tls_thread->live).
 *
 * A record is entered when it is allocated and leaves when it is freed, which may be
 * well after gl_destroy() (a dead parent stays while children name it). Only the
 * logical thread that owns a record touches the list, one greenlet at a time (on the
 * threads port too: the baton orders them), so it needs no lock; once the thread has
 * exited, its records may be freed from other threads, so the list is closed first. */
#include "internal.h"

/* The gdb extension travels in every program linked with the library: gdb runs this
 * section's script when it loads the program (if the program is in its auto-load
 * safe-path; README, "Debugging"). A debug section: never loaded at run time, gone
 * with `strip --strip-debug`. The Makefile rebuilds this file when the script changes. */
__asm__(".pushsection .debug_gdb_scripts, \"MS\", %progbits, 1\n"
        ".byte 4\n" /* SECTION_SCRIPT_ID_PYTHON_TEXT: a name line, then the script */
        ".ascii \"switchyard-gdb.py\\n\"\n"
        ".incbin \"tools/gdb/switchyard.py\"\n"
        ".byte 0\n"
        ".popsection\n");

void gl__live_link(gl__thread *t, gl_greenlet *g)
{
    g->live_prev = NULL;
    g->live_next = t->live;
    if (t->live)
        t->live->live_prev = g;
    t->live = g;
    t->live_count++;
}

void gl__live_unlink(gl_greenlet *g)
{
    gl__thread *t = g->thread;
    if (t->live_closed)
        return;
    if (g->live_prev)
        g->live_prev->live_next = g->live_next;
    else
        t->live = g->live_next;
    if (g->live_next)
        g->live_next->live_prev = g->live_prev;
    g->live_prev = g->live_next = NULL;
    t->live_count--;
}

void gl__live_close(gl__thread *t)
{
    t->live_closed = 1;
    t->live = NULL;
    t->live_count = 0;
}

size_t gl_live_count(void)
{
    gl__thread *t = gl__thread_get();
    return t && t->live_count ? t->live_count - 1 : 0; /* main is not counted */
}
