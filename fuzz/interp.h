/*
 * interp.h — runs a fuzz program on the greenlet API and writes its canonical trace.
 *
 * The trace is what oracle.py prints for the same program on Python greenlet, byte for
 * byte, when both agree. One line per event:
 *
 *   g0.2 switch g1 102                     an op begins (greenlet.index, op, arguments)
 *   ~switch g0>g1                          the trace hook (gl_settrace / greenlet.settrace)
 *   g1 start 102                           a run function begins, with its argument
 *   g0.2 = 205 | g0:R g1:A<g0 g2:D<g1 g3:-  the op's result (a value, nil, or E<code>/<data>),
 *                                          then every greenlet: R running, A suspended,
 *                                          U unstarted, D dead, <parent; - released
 *   g0.3 destroy g2                        destroy results end with "released" or "held":
 *   g0.3 = E12/nil held | ...              what the header's contract says of the handle;
 *   g0.4 = E14(E100/203) released | ...    E<rc>(E<code>/<data>) when gl_last_error()
 *                                          has another code than the one returned
 *   g1.4 destroy g2 skipped (released)     an op naming a released greenlet does nothing
 *   g1 end reraise E4/nil                  a run function ends: return / raise / reraise
 *   g0.final destroy g2                    after main's script: every greenlet still held
 *                                          is destroyed, in order, until none is left
 *   g2 left suspended after release        it began, never ended, and no handle is left
 *   end | g0:R g1:- g2:-                   the last line
 *
 * Anything else (a frame's locals changed across a switch, gl_current() not the greenlet
 * whose script runs, an inconsistent state triple) is printed as a line in capitals
 * and makes the trace differ from Python's.
 */
#ifndef FUZZ_INTERP_H
#define FUZZ_INTERP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "program.h"

/* How often each kind of event happened: tells whether the programs reach the cases
 * that matter. Counted by the C interpreter only (from states it reads before an op). */
#define FZ_COVERAGE(X)                                                                  \
    X(ops)                    /* ops executed (skipped ones excluded) */                \
    X(ops_nested)             /* ... of which run 1..8 nested calls deep */             \
    X(start)                  /* run functions begun */                                 \
    X(start_nil)              /* ... with no value (NULL / no argument) */              \
    X(start_by_death)         /* ... because a child died into this unstarted one */    \
    X(switch_self)                                                                      \
    X(switch_unstarted)                                                                 \
    X(switch_suspended)                                                                 \
    X(switch_dead)                                                                      \
    X(switch_dead_dead_parent) /* the dead target's parent is dead too */               \
    X(switch_dead_to_unstarted) /* its first live ancestor is unstarted: started */     \
    X(switch_dead_to_caller)  /* its first live ancestor is the caller */               \
    X(throw_self)                                                                       \
    X(throw_unstarted)                                                                  \
    X(throw_suspended)                                                                  \
    X(throw_dead)                                                                       \
    X(throw_dead_dead_parent)                                                           \
    X(throw_exit)             /* GreenletExit thrown */                                 \
    X(throw_library_code)     /* a library code (4, 12) thrown */                       \
    X(trace_failed)           /* the trace hook failed: the target got GL_ETRACE */     \
    X(set_parent_ok)                                                                    \
    X(set_parent_cycle)       /* GL_ECYCLE: refused */                                  \
    X(set_parent_main)        /* GL_EMAIN: refused */                                   \
    X(destroy_unstarted)                                                                \
    X(destroy_dead)                                                                     \
    X(destroy_suspended_killed)  /* GreenletExit ended it: GL_OK */                     \
    X(destroy_suspended_error)   /* it ended with another error: released */            \
    X(destroy_survived)          /* GL_ENOTDEAD: alive, still held */                   \
    X(destroy_self)              /* GL_EBUSY */                                         \
    X(destroy_nested)            /* another destroy of it was in progress */            \
    X(destroy_refused_destroying) /* ... refused: GL_EDESTROYING */                     \
    X(destroy_refused_ancestor)  /* of an ancestor of the destroyer: GL_ECYCLE */       \
    X(destroy_ancestor)          /* of an ancestor of the destroyer */                  \
    X(destroy_from_cleanup)      /* by a greenlet that is itself being destroyed */     \
    X(skipped_released)          /* ops naming a released greenlet */                   \
    X(error_received)            /* an op returned an error */                          \
    X(end_return)                                                                       \
    X(end_fall_off)                                                                     \
    X(end_raise)                                                                        \
    X(end_reraise)                                                                      \
    X(end_into_dead_parent)      /* the parent of the ending greenlet is dead */        \
    X(end_into_unstarted)        /* its first live ancestor is unstarted */             \
    X(final_destroy)             /* destroys after main's script */                     \
    X(final_second_pass)         /* a greenlet survived the first final destroy */      \
    X(left_suspended)            /* released while suspended, never ended */

enum {
#define FZ_COVERAGE_ENUM(name) FZ_COV_##name,
    FZ_COVERAGE(FZ_COVERAGE_ENUM)
#undef FZ_COVERAGE_ENUM
    FZ_COV_N
};
extern const char *const fz_coverage_names[FZ_COV_N];

typedef struct {
    uint64_t count[FZ_COV_N];
} fz_coverage;

/* Where the trace goes: a caller-owned buffer (shared with the parent process when the
 * program runs in a forked child). A trace that does not fit ends with "TRUNCATED". */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int truncated;
    volatile size_t *published; /* if set, kept equal to len (a crash keeps what came) */
    FILE *echo;                 /* if set, every line is also written there at once */
} fz_trace;

/* Runs `p` on the calling thread (which must not have used the greenlet API yet:
 * g0 is its main greenlet). `cov` may be NULL. */
void fz_run(const fz_program *p, fz_trace *trace, fz_coverage *cov);

/* FNV-1a 64 of the trace text (oracle.py computes the same). */
uint64_t fz_trace_hash(const fz_trace *trace);

#endif /* FUZZ_INTERP_H */
