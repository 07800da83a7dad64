/*
 * suite.h — how a conformance case is written.
 *
 *   #include "suite.h"
 *   CASE(greenlet, switch_passes_value_in) {
 *       ...
 *       CHECK_INT(rc, GL_OK);
 *   }
 *
 * A case is one behaviour, named after it. The runner (runner.c) runs every case in
 * a forked child with a time limit, so a crash or a hang fails that case only. A
 * failed CHECK prints where and what, and ends the case. SKIP("why") ends it as
 * skipped (only for a capability the port reports it lacks, never to hide a failure).
 */
#ifndef SUITE_H
#define SUITE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*suite_fn)(void);
void suite_register(const char *section, const char *name, suite_fn fn, const char *file,
                    int line);
__attribute__((noreturn)) void suite_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
__attribute__((noreturn)) void suite_skip(const char *why);

#define CASE(section, name)                                                                \
    static void case_##section##_##name(void);                                             \
    __attribute__((constructor)) static void register_##section##_##name(void)             \
    {                                                                                      \
        suite_register(#section, #name, case_##section##_##name, __FILE__, __LINE__);      \
    }                                                                                      \
    static void case_##section##_##name(void)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond))                                                                       \
            suite_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                     \
    } while (0)

#define CHECK_INT(actual, expected)                                                        \
    do {                                                                                   \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                    \
        if (a_ != e_)                                                                      \
            suite_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #actual, a_, \
                       #expected, e_);                                                     \
    } while (0)

#define CHECK_PTR(actual, expected)                                                        \
    do {                                                                                   \
        const void *a_ = (const void *)(actual), *e_ = (const void *)(expected);           \
        if (a_ != e_)                                                                      \
            suite_fail(__FILE__, __LINE__, "%s == %p, expected %s == %p", #actual, a_,     \
                       #expected, e_);                                                     \
    } while (0)

#define CHECK_STR(actual, expected)                                                        \
    do {                                                                                   \
        const char *a_ = (actual), *e_ = (expected);                                       \
        if (!a_ || strcmp(a_, e_) != 0)                                                    \
            suite_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #actual,       \
                       a_ ? a_ : "(null)", e_);                                            \
    } while (0)

/* Checks that an API call succeeded, naming the error otherwise. */
#define CHECK_OK(call)                                                                     \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != 0)                                                                      \
            suite_fail(__FILE__, __LINE__, "%s returned %d (%s)", #call, rc_,              \
                       suite_describe_error(rc_));                                         \
    } while (0)

#define SKIP(why) suite_skip(why)

const char *suite_describe_error(int rc);

/* Lower this case's soft address-space limit (RLIMIT_AS) to what it uses now plus
 * `headroom` bytes; SKIP if the limit is not enforced (qemu-user). Restore it with
 * suite_restore_address_space() once the case has run out of what it wanted to. */
void suite_limit_address_space(size_t headroom);
void suite_restore_address_space(void);

/* A log of short strings, to assert the exact order of events:
 *   LOG("1"); ... CHECK_LOG("1 2 3"); */
void suite_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *suite_log_text(void);
void suite_log_reset(void);
#define LOG(...) suite_log(__VA_ARGS__)
#define CHECK_LOG(expected) CHECK_STR(suite_log_text(), expected)

#endif /* SUITE_H */
