/*
 * fcontext.h — Boost.Context's C-level switch (libboost_context; Debian's
 * libboost-context-dev 1.74), declared in C: the library's own header
 * (boost/context/detail/fcontext.hpp) is C++ only, its functions are extern "C".
 * Used by impl/boost_fcontext and the harness's baseline_fcontext; link
 * -lboost_context (both link it statically: see impl/boost_fcontext/port.mk).
 *
 *   make_fcontext(sp, size, fn)  lays out a context at the top `sp` of a stack of `size`
 *                                bytes (growing down); the first jump to it runs fn.
 *   jump_fcontext(to, data)      saves the running context on its own stack and resumes
 *                                `to`. The resumed side receives a transfer_t: `fctx`,
 *                                the context just left (the only handle to it: the
 *                                leaving side does not learn it), and `data`.
 *   fn(transfer_t)               the first resumption of a made context; fn must never
 *                                return (1.74 calls _exit(0) if it does).
 * On x86-64 the saved frame is the one of mechanism/arch/switch_x86_64_sysv.S (MXCSR,
 * x87 control word, r12-r15, rbx, rbp, return address); fcontext resumes with a pop and
 * an indirect jump where ours returns with `ret`.
 */
#ifndef GL_FCONTEXT_H
#define GL_FCONTEXT_H

#include <stddef.h>

typedef void *fcontext_t;
typedef struct transfer_t {
    fcontext_t fctx;
    void *data;
} transfer_t;

transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

#endif /* GL_FCONTEXT_H */
