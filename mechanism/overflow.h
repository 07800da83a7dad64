/*
 * overflow.h — the stack-overflow reporter: a SIGSEGV handler, on a signal stack of
 * its own, that names the greenlet whose guard page was hit (the range a port recorded
 * with gl__set_guard) before the default action ends the process. The core installs
 * it for every thread that uses the API; ports with guard pages only record them.
 */
#ifndef GL_OVERFLOW_H
#define GL_OVERFLOW_H

/* How far below a greenlet's stack a fault counts as its overflow: the guard gap
 * mechanism/stack.c leaves below each stack (a frame up to this size still lands in it;
 * larger ones probe their pages in order: -fstack-clash-protection). */
#define GL__GUARD_BYTES ((size_t)64 * 1024)

/* Installs the reporter for the calling thread (idempotent, best effort: not when the
 * program has a SIGSEGV handler of its own). Returns the signal stack it gave this
 * thread, for gl__overflow_reporter_remove(), or NULL. */
void *gl__overflow_reporter_install(void);
void gl__overflow_reporter_remove(void *altstack);

/* The canary at `canary` (the bottom of g's stack, GL_GUARD_CANARY) was found
 * overwritten as g switched away: report it, naming g, and abort. */
struct gl_greenlet;
__attribute__((noreturn)) void gl__overflow_canary(struct gl_greenlet *g, const void *canary);

#endif /* GL_OVERFLOW_H */
