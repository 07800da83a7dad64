/* program.c — generating a program from a seed, and its text form (see program.h). */
#include <stdlib.h>
#include <string.h>
#include "greenlet.h"
#include "program.h"

const char *const fz_kind_names[FZ_NKINDS] = {
    [FZ_SWITCH] = "switch",   [FZ_THROW] = "throw", [FZ_SET_PARENT] = "set_parent",
    [FZ_DESTROY] = "destroy", [FZ_RETURN] = "return", [FZ_RAISE] = "raise",
    [FZ_TRACE_FAIL] = "trace_fail",
};

/* ---- generation ------------------------------------------------------------------- */

/* splitmix64: tiny, and the same sequence everywhere for a given seed. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* 0..n-1 (n > 0; 0 otherwise) */
static int below(uint64_t *rng, int n)
{
    return n > 0 ? (int)(next_random(rng) % (uint64_t)n) : 0;
}
static int chance(uint64_t *rng, int percent) { return below(rng, 100) < percent; }

/* Index drawn from cumulative weights. */
static int weighted(uint64_t *rng, const int *weights, int n)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += weights[i];
    int r = below(rng, total);
    for (int i = 0; i < n; i++) {
        if (r < weights[i])
            return i;
        r -= weights[i];
    }
    return n - 1;
}

/* Error codes a program throws or raises: mostly GreenletExit and user errors, now and
 * then a library code (a re-raised GL_ENOTDEAD or GL_ECYCLE is what real programs pass
 * on: gl_destroy's and gl_set_parent's callers must tell them apart). */
static int pick_code(uint64_t *rng)
{
    static const int codes[] = {GL_EEXIT, GL_EUSER, GL_EUSER + 1, GL_EUSER + 2, GL_EUSER + 3,
                                GL_ENOTDEAD, GL_ECYCLE};
    static const int weights[] = {40, 14, 13, 13, 12, 4, 4};
    return codes[weighted(rng, weights, (int)(sizeof codes / sizeof codes[0]))];
}

/* Another greenlet, now and then the caller itself. */
static int pick_target(uint64_t *rng, int self, int n)
{
    if (chance(rng, 8))
        return self;
    int t = below(rng, n - 1);
    return t >= self ? t + 1 : t;
}

static void generate_op(uint64_t *rng, fz_op *op, int self, int k, int n)
{
    /* Weights per kind: main never returns or raises (its script is the program). */
    static const int user_weights[FZ_NKINDS] = {34, 16, 12, 14, 6, 6, 2};
    static const int main_weights[FZ_NKINDS] = {50, 16, 14, 20, 0, 0, 2};
    memset(op, 0, sizeof *op);
    op->kind = (uint8_t)weighted(rng, self ? user_weights : main_weights, FZ_NKINDS);
    long tag = (long)(self + 1) * 100 + k; /* unique: says who sent it, from which op */
    op->depth = chance(rng, 50) ? 0 : (uint8_t)(1 + below(rng, 6));
    op->reraise = self != 0 && chance(rng, 35);
    switch (op->kind) {
    case FZ_SWITCH:
        op->target = (uint8_t)pick_target(rng, self, n);
        op->value = tag;
        break;
    case FZ_THROW:
        op->target = (uint8_t)pick_target(rng, self, n);
        op->code = pick_code(rng);
        op->value = tag;
        break;
    case FZ_SET_PARENT:
        op->target = (uint8_t)pick_target(rng, self, n);
        op->other = (uint8_t)below(rng, n);
        break;
    case FZ_DESTROY: /* main is never destroyed (GL_EMAIN, no Python equivalent) */
        op->target = (uint8_t)(chance(rng, 10) && self ? self : 1 + below(rng, n - 1));
        break;
    case FZ_RETURN:
        op->value = tag;
        break;
    case FZ_RAISE:
        op->code = pick_code(rng);
        op->value = tag;
        break;
    }
}

void fz_generate(fz_program *p, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    uint64_t rng = seed;
    p->seed = seed;
    p->ngreenlets = 3 + below(&rng, 4); /* main + 2..5 */
    for (int i = 1; i < p->ngreenlets; i++)
        p->parent[i] = below(&rng, i);
    for (int g = 0; g < p->ngreenlets; g++) {
        fz_script *s = &p->script[g];
        s->nops = g ? 1 + below(&rng, 10) : 4 + below(&rng, 11);
        for (int k = 0; k < s->nops; k++) {
            generate_op(&rng, &s->ops[k], g, k, p->ngreenlets);
            if (s->ops[k].kind == FZ_RETURN || s->ops[k].kind == FZ_RAISE) {
                s->nops = k + 1; /* nothing after them would run */
                break;
            }
        }
    }
}

/* ---- text form ---------------------------------------------------------------------- */

void fz_print(FILE *out, const fz_program *p)
{
    fprintf(out, "program %llu\n", (unsigned long long)p->seed);
    for (int i = 1; i < p->ngreenlets; i++)
        fprintf(out, "greenlet g%d parent g%d\n", i, p->parent[i]);
    for (int g = 0; g < p->ngreenlets; g++) {
        const fz_script *s = &p->script[g];
        for (int k = 0; k < s->nops; k++) {
            const fz_op *op = &s->ops[k];
            fprintf(out, "g%d %s", g, fz_kind_names[op->kind]);
            switch (op->kind) {
            case FZ_SWITCH: fprintf(out, " g%d %ld", op->target, op->value); break;
            case FZ_THROW: fprintf(out, " g%d %d %ld", op->target, op->code, op->value); break;
            case FZ_SET_PARENT: fprintf(out, " g%d g%d", op->target, op->other); break;
            case FZ_DESTROY: fprintf(out, " g%d", op->target); break;
            case FZ_RETURN: fprintf(out, " %ld", op->value); break;
            case FZ_RAISE: fprintf(out, " %d %ld", op->code, op->value); break;
            }
            if (op->depth)
                fprintf(out, " @%d", op->depth);
            if (op->reraise)
                fprintf(out, " !");
            fputc('\n', out);
        }
    }
    fputs("end\n", out);
}

/* A greenlet name "g<i>" with i < n; -1 otherwise. */
static int parse_greenlet(const char *word, int n)
{
    char *end;
    if (!word || word[0] != 'g' || word[1] < '0' || word[1] > '9')
        return -1;
    long i = strtol(word + 1, &end, 10);
    return *end || i < 0 || i >= n ? -1 : (int)i;
}

static int parse_positive(const char *word, long *out)
{
    char *end;
    if (!word || !*word)
        return -1;
    long v = strtol(word, &end, 10);
    if (*end || v <= 0)
        return -1;
    *out = v;
    return 0;
}

#define PARSE_FAIL(...)                                                                   \
    do {                                                                                  \
        int n_ = snprintf(err, errsz, "line %d: ", lineno);                              \
        if (n_ > 0 && (size_t)n_ < errsz)                                                 \
            snprintf(err + n_, errsz - (size_t)n_, __VA_ARGS__);                          \
        return -1;                                                                        \
    } while (0)

int fz_parse(fz_program *p, FILE *in, char *err, size_t errsz)
{
    char line[512];
    int lineno = 0, have_header = 0, ops_started = 0;
    memset(p, 0, sizeof *p);
    p->ngreenlets = 1;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *w[8];
        int nw = 0;
        for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n"))
            if (nw < 8)
                w[nw++] = tok;
            else
                PARSE_FAIL("too many words");
        if (nw == 0)
            continue;
        if (!have_header) {
            char *end;
            if (nw != 2 || strcmp(w[0], "program") != 0)
                PARSE_FAIL("expected 'program <seed>'");
            p->seed = strtoull(w[1], &end, 10);
            if (*end)
                PARSE_FAIL("bad seed '%s'", w[1]);
            have_header = 1;
            continue;
        }
        if (!strcmp(w[0], "end")) {
            if (nw != 1)
                PARSE_FAIL("'end' takes nothing");
            return 0;
        }
        if (!strcmp(w[0], "greenlet")) {
            int i = p->ngreenlets;
            if (ops_started)
                PARSE_FAIL("greenlets are declared before the first op");
            if (i == FZ_MAX_GREENLETS)
                PARSE_FAIL("more than %d greenlets", FZ_MAX_GREENLETS);
            if (nw != 4 || parse_greenlet(w[1], i + 1) != i || strcmp(w[2], "parent") != 0)
                PARSE_FAIL("expected 'greenlet g%d parent g<k>' (k < %d)", i, i);
            int parent = parse_greenlet(w[3], i);
            if (parent < 0)
                PARSE_FAIL("the parent of g%d must be created before it", i);
            p->parent[i] = parent;
            p->ngreenlets++;
            continue;
        }
        ops_started = 1;
        int n = p->ngreenlets, self = parse_greenlet(w[0], n);
        if (self < 0)
            PARSE_FAIL("unknown greenlet '%s'", w[0]);
        if (nw < 2)
            PARSE_FAIL("an op needs a kind");
        fz_script *s = &p->script[self];
        if (s->nops == FZ_MAX_OPS)
            PARSE_FAIL("more than %d ops for g%d", FZ_MAX_OPS, self);
        if (s->nops && (s->ops[s->nops - 1].kind == FZ_RETURN ||
                        s->ops[s->nops - 1].kind == FZ_RAISE))
            PARSE_FAIL("g%d has an op after its return/raise", self);
        fz_op *op = &s->ops[s->nops];
        memset(op, 0, sizeof *op);
        int kind = -1;
        for (int k = 0; k < FZ_NKINDS; k++)
            if (!strcmp(w[1], fz_kind_names[k]))
                kind = k;
        if (kind < 0)
            PARSE_FAIL("unknown op '%s'", w[1]);
        op->kind = (uint8_t)kind;
        /* options at the end: @depth and ! */
        while (nw > 2 && (w[nw - 1][0] == '@' || !strcmp(w[nw - 1], "!"))) {
            if (w[nw - 1][0] == '!')
                op->reraise = 1;
            else {
                long d;
                if (parse_positive(w[nw - 1] + 1, &d) || d > FZ_MAX_DEPTH)
                    PARSE_FAIL("depth must be 1..%d", FZ_MAX_DEPTH);
                op->depth = (uint8_t)d;
            }
            nw--;
        }
        if (self == 0 && (op->reraise || kind == FZ_RETURN || kind == FZ_RAISE))
            PARSE_FAIL("main (g0) cannot return, raise or re-raise");
        static const int nargs[FZ_NKINDS] = {2, 3, 2, 1, 1, 2, 0};
        if (nw - 2 != nargs[kind])
            PARSE_FAIL("'%s' takes %d arguments", w[1], nargs[kind]);
        long code = 0;
        int t = -1;
        switch (kind) {
        case FZ_SWITCH:
        case FZ_THROW:
        case FZ_SET_PARENT:
        case FZ_DESTROY:
            if ((t = parse_greenlet(w[2], n)) < 0)
                PARSE_FAIL("unknown greenlet '%s'", w[2]);
            op->target = (uint8_t)t;
            break;
        }
        if (kind == FZ_DESTROY && t == 0)
            PARSE_FAIL("main (g0) is never destroyed");
        if (kind == FZ_SET_PARENT) {
            if ((t = parse_greenlet(w[3], n)) < 0)
                PARSE_FAIL("unknown greenlet '%s'", w[3]);
            op->other = (uint8_t)t;
        }
        if (kind == FZ_SWITCH && parse_positive(w[3], &op->value))
            PARSE_FAIL("bad value '%s'", w[3]);
        if (kind == FZ_RETURN && parse_positive(w[2], &op->value))
            PARSE_FAIL("bad value '%s'", w[2]);
        if (kind == FZ_THROW || kind == FZ_RAISE) {
            int at = kind == FZ_THROW ? 3 : 2;
            if (parse_positive(w[at], &code) || code > 1000000)
                PARSE_FAIL("bad error code '%s'", w[at]);
            op->code = (int)code;
            if (parse_positive(w[at + 1], &op->value))
                PARSE_FAIL("bad data '%s'", w[at + 1]);
        }
        s->nops++;
    }
    if (!have_header)
        snprintf(err, errsz, "empty program");
    else
        snprintf(err, errsz, "line %d: missing 'end'", lineno);
    return -1;
}
