/*
 * program.h — the differential fuzzer's programs: a few greenlets, each with a script.
 *
 * A program is data, not code: g0 is the thread's main greenlet, g1..gN are created by
 * main before anything runs (each with a parent among the greenlets created before
 * it), and every greenlet runs its own script of operations, in order, when it has
 * control. The same program runs on every port (interp.c) and on Python greenlet
 * (oracle.py), which both print the same canonical trace.
 *
 * Text form (what `fuzz_<port> -p SEED` prints and `-f FILE` / oracle.py read):
 *
 *   program 1234                 seed (any number for a hand-written program)
 *   greenlet g1 parent g0        one line per greenlet, in creation order
 *   g0 switch g2 101             then the ops, each greenlet's in its own order:
 *   g1 throw g0 100 202 @3 !       @N   run the op N nested calls deep (default 0)
 *   g1 set_parent g2 g0            !    on error, end the greenlet with that error
 *   g2 destroy g1                       (gl_reraise; Python: a bare `raise`);
 *   g2 return 304                       without it the error is recorded and the
 *   g2 raise 1 305                      script goes on (main never re-raises)
 *   g1 trace_fail                  (re)install the trace hook, failing at its next call
 *   end
 *
 * Values and error data are positive integers (NULL/None is printed "nil"); error
 * codes are greenlet.h's (1 = GreenletExit, 4 = GL_ECYCLE, ...) or >= GL_EUSER.
 * `return`/`raise` end the script (ops after them are never reached); a script that
 * runs out returns (self+1)*100 + 99.
 */
#ifndef FUZZ_PROGRAM_H
#define FUZZ_PROGRAM_H

#include <stdint.h>
#include <stdio.h>

#define FZ_MAX_GREENLETS 8  /* g0 (main) + up to 7 */
#define FZ_MAX_OPS 24       /* per script */
#define FZ_MAX_DEPTH 8

typedef enum {
    FZ_SWITCH,      /* target, value */
    FZ_THROW,       /* target, code, value = data */
    FZ_SET_PARENT,  /* target, other = new parent */
    FZ_DESTROY,     /* target */
    FZ_RETURN,      /* value */
    FZ_RAISE,       /* code, value = data */
    FZ_TRACE_FAIL,  /* the trace hook is (re)installed and fails at its next call */
    FZ_NKINDS
} fz_kind;

typedef struct {
    uint8_t kind;       /* fz_kind */
    uint8_t target;     /* greenlet index */
    uint8_t other;      /* set_parent: the new parent */
    uint8_t depth;      /* nested calls before the op runs */
    uint8_t reraise;    /* on error: end the greenlet with it */
    int code;           /* throw / raise */
    long value;         /* switch value, throw/raise data, return value */
} fz_op;

typedef struct {
    int nops;
    fz_op ops[FZ_MAX_OPS];
} fz_script;

typedef struct {
    uint64_t seed;
    int ngreenlets;                     /* including g0 */
    int parent[FZ_MAX_GREENLETS];       /* initial parent of g1..; parent[0] unused */
    fz_script script[FZ_MAX_GREENLETS];
} fz_program;

extern const char *const fz_kind_names[FZ_NKINDS];

/* The program of `seed` (deterministic: same seed, same program, on every machine). */
void fz_generate(fz_program *p, uint64_t seed);

/* The text form; fz_parse returns 0, or -1 with a message in err (line number
 * included) for anything it does not understand. */
void fz_print(FILE *out, const fz_program *p);
int fz_parse(fz_program *p, FILE *in, char *err, size_t errsz);

/* The value a script returns when it runs out of ops. */
static inline long fz_fall_off_value(int self) { return (long)(self + 1) * 100 + 99; }

#endif /* FUZZ_PROGRAM_H */
