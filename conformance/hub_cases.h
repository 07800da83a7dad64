/* hub_cases.h — small helpers shared by the hub's conformance files (hub_*.c). */
#ifndef HUB_CASES_H
#define HUB_CASES_H

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "greenlet.h"
#include "hub.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define HUB_CASES_ASAN 1
#else
#define HUB_CASES_ASAN 0
#endif

/* 1 when running under valgrind (its own memory and descriptors count against the
 * limits some cases lower). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HUB_CASES_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef HUB_CASES_VALGRIND
#define HUB_CASES_VALGRIND() 0
#endif

/* Descriptors open in this process now (/proc/self/fd, not counting the one reading
 * it), or -1. */
static inline int hub_cases_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* pthread_create, retried for up to 10 s while it says EAGAIN: on a shared machine,
 * another program can take every thread the system allows for a moment. */
static inline int hub_cases_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc;
    for (int tries = 0; (rc = pthread_create(t, NULL, fn, arg)) == EAGAIN && tries < 1000; tries++)
        usleep(10 * 1000);
    return rc;
}

/* A hub_server handler that echoes what arrives until the end of the stream. */
static inline void *hub_cases_echo_handler(int fd, void *arg)
{
    (void)arg;
    char buf[4096];
    for (;;) {
        size_t n;
        int rc = hub_recv(fd, buf, sizeof buf, HUB_FOREVER, &n);
        if (rc == HUB_OK && n == 0)
            return NULL;
        if (rc == HUB_OK)
            rc = hub_send_all(fd, buf, n, HUB_FOREVER, NULL);
        if (rc != HUB_OK)
            return gl_reraise();
    }
}

/* The RLIMIT_NOFILE value that leaves exactly `free_slots` descriptor numbers free
 * (descriptors take the lowest free number, and the limit caps the number), or -1. */
static inline long hub_cases_nofile_for(int free_slots)
{
    static unsigned char open_fd[65536];
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            long fd = strtol(e->d_name, NULL, 10);
            if (fd >= 0 && fd < (long)sizeof open_fd && fd != self)
                open_fd[fd] = 1;
        }
    closedir(d);
    long limit = 0;
    for (int left = free_slots; limit < (long)sizeof open_fd; limit++)
        if (!open_fd[limit] && left-- == 0)
            break;
    return limit < (long)sizeof open_fd ? limit : -1;
}

/* From now on, this process can create no thread: clone() with CLONE_THREAD fails
 * with EAGAIN (as when a thread limit is reached), clone3() with ENOSYS (so that the C
 * library falls back to clone()). A seccomp filter, so only for the case's own forked
 * process. 0, or -1 with errno (e.g. where seccomp is not available). */
static inline int hub_cases_refuse_threads(void)
{
#if defined(__x86_64__)
    const unsigned arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
    const unsigned arch = AUDIT_ARCH_AARCH64;
#else
    errno = ENOSYS;
    return -1;
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000 /* <sched.h> has it only with _GNU_SOURCE */
#endif
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof code[0]), code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    /* Every thread of the process (TSYNC): on a port whose greenlets run on threads of
     * their own, the hub's thread is the one that starts the next. */
    return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0
               ? -1
               : 0;
}

#endif /* HUB_CASES_H */
