/*
 * runner.c — runs the conformance cases, each in a forked child with a time limit
 * (libuv's test runner does the same), and prints one line per case and a closing
 *   N passed, N failed, N skipped
 * line. Exit status 0 only if nothing failed.
 *
 *   conformance_<port> [-s section] [-f substring] [-t seconds] [-l] [--no-fork]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "greenlet.h"
#include "suite.h"

#define EXIT_SKIP 77
#define MAX_CASES 1024

typedef struct {
    const char *section, *name, *file;
    int line;
    suite_fn fn;
} suite_case;

static suite_case cases[MAX_CASES];
static int ncases;

void suite_register(const char *section, const char *name, suite_fn fn, const char *file,
                    int line)
{
    if (ncases == MAX_CASES) {
        fprintf(stderr, "conformance: more than %d cases; raise MAX_CASES\n", MAX_CASES);
        exit(2);
    }
    cases[ncases++] = (suite_case){section, name, file, line, fn};
}

void suite_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(NULL);
    _exit(1);
}

void suite_skip(const char *why)
{
    fprintf(stderr, "%s\n", why);
    fflush(NULL);
    _exit(EXIT_SKIP);
}

const char *suite_describe_error(int rc)
{
    static char buf[256];
    const gl_error *e = gl_last_error();
    if (e->code == rc)
        snprintf(buf, sizeof buf, "%s: %s", gl_strerror(rc), e->message);
    else
        snprintf(buf, sizeof buf, "%s", gl_strerror(rc));
    return buf;
}

int suite_run_child(void (*fn)(void *), void *arg, char *out, size_t outsz)
{
    int fds[2];
    if (pipe(fds) != 0)
        suite_fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        suite_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len < outsz - 1 && (n = read(fds[0], out + len, outsz - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
    }
    out[len] = 0;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static char log_buf[8192];
static size_t log_len;

void suite_log(const char *fmt, ...)
{
    if (log_len && log_len < sizeof log_buf - 1)
        log_buf[log_len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(log_buf + log_len, sizeof log_buf - log_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        log_len += (size_t)n;
    if (log_len >= sizeof log_buf)
        log_len = sizeof log_buf - 1;
}

const char *suite_log_text(void) { return log_buf; }
void suite_log_reset(void) { log_len = 0; log_buf[0] = 0; }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

enum { PASS, FAIL, SKIPPED };

/* Runs one case in a child; its output is collected and shown if it did not pass. */
static int run_isolated(const suite_case *c, int timeout_s, char *out, size_t outsz,
                        char *why, size_t whysz)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, whysz, "pipe: %s", strerror(errno));
        return FAIL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whysz, "fork: %s", strerror(errno));
        return FAIL;
    }
    if (pid == 0) {
        setpgid(0, 0);
        close(fds[0]);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[1]);
        setvbuf(stdout, NULL, _IONBF, 0);
        alarm((unsigned)timeout_s); /* SIGALRM's default action ends a hung case */
        c->fn();
        fflush(NULL);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        size_t take = (size_t)n < outsz - 1 - len ? (size_t)n : outsz - 1 - len;
        memcpy(out + len, chunk, take);
        len += take;
    }
    out[len] = 0;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    kill(-pid, SIGKILL); /* anything the case left behind */
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        if (code == 0)
            return PASS;
        if (code == EXIT_SKIP) {
            snprintf(why, whysz, "%.*s", (int)strcspn(out, "\n"), out);
            return SKIPPED;
        }
        snprintf(why, whysz, "exit status %d", code);
        return FAIL;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM)
            snprintf(why, whysz, "timed out after %d s", timeout_s);
        else
            snprintf(why, whysz, "killed by signal %d (%s)", sig, strsignal(sig));
    }
    return FAIL;
}

static void print_indented(const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("        | %.*s\n", (int)n, p);
        p += n;
        if (*p)
            p++;
    }
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-s section] [-f substring] [-t seconds] [-l] [--no-fork]\n"
            "  -s  run only cases of this section (greenlet, hub, ...)\n"
            "  -f  run only cases whose section.name contains this text\n"
            "  -t  time limit per case in seconds (default 120)\n"
            "  -l  list cases and exit\n"
            "  --no-fork  run cases in this process (for a debugger); stops at the first failure\n",
            argv0);
}

int main(int argc, char **argv)
{
    const char *section = NULL, *filter = NULL;
    int timeout_s = 120, list = 0, fork_cases = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-s") && i + 1 < argc)
            section = argv[++i];
        else if (!strcmp(a, "-f") && i + 1 < argc)
            filter = argv[++i];
        else if (!strcmp(a, "-t") && i + 1 < argc)
            timeout_s = atoi(argv[++i]);
        else if (!strcmp(a, "-l"))
            list = 1;
        else if (!strcmp(a, "--no-fork"))
            fork_cases = 0;
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (timeout_s <= 0) {
        fprintf(stderr, "%s: -t needs a positive number of seconds\n", argv[0]);
        return 2;
    }

    const gl_port_info *port = gl_port();
    if (!list)
        printf("conformance: port %s (%s)\n", port->name, port->mechanism);
    int passed = 0, failed = 0, skipped = 0, selected = 0;
    static char out[65536];
    for (int i = 0; i < ncases; i++) {
        const suite_case *c = &cases[i];
        char full[256];
        snprintf(full, sizeof full, "%s.%s", c->section, c->name);
        if (section && strcmp(section, c->section) != 0)
            continue;
        if (filter && !strstr(full, filter))
            continue;
        selected++;
        if (list) {
            printf("%s\n", full);
            continue;
        }
        if (!fork_cases) {
            printf("run     %s\n", full);
            fflush(stdout);
            c->fn();
            printf("ok      %s\n", full);
            passed++;
            continue;
        }
        char why[512] = "";
        double t0 = now_ms();
        int r = run_isolated(c, timeout_s, out, sizeof out, why, sizeof why);
        double ms = now_ms() - t0;
        if (r == PASS) {
            passed++;
            printf("ok      %-72s %8.1f ms\n", full, ms);
        } else if (r == SKIPPED) {
            skipped++;
            printf("skip    %-72s (%s)\n", full, why);
        } else {
            failed++;
            printf("FAIL    %-72s (%s)\n", full, why);
            printf("        | case at %s:%d\n", c->file, c->line);
            print_indented(out);
        }
        fflush(stdout);
    }
    if (list)
        return 0;
    if (selected == 0) {
        fprintf(stderr, "conformance: no case matches the selection\n");
        return 2;
    }
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
