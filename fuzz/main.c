/*
 * main.c — the fuzzer's command line: one binary per port and build (fuzz_<port>).
 *
 *   fuzz_<port> [-s FIRST] [-n COUNT] [-j JOBS] [-t SECONDS] [-c COVFILE] [-L LABEL]
 *       runs the programs of seeds FIRST..FIRST+COUNT-1, each in a forked child with a
 *       time limit (a crash or hang fails that seed, not the run); prints one line per
 *       seed, in seed order:  "<seed> ok <trace hash>"  or  "<seed> fail <reason>"
 *   fuzz_<port> -r SEED | -f FILE [--no-fork]
 *       runs one program (a seed's, or a file's: "-" reads stdin) and prints its trace,
 *       then "# ok <hash>" or "# fail <reason>" and what the child wrote on stderr
 *   fuzz_<port> -p SEED          prints the program of a seed
 *   fuzz_<port> -P FIRST COUNT   prints the programs of a range (what oracle.py reads)
 *
 * The comparison between ports and with Python is fuzz/run.sh's job.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "greenlet.h"
#include "interp.h"
#include "program.h"

#define TRACE_CAP (1u << 20)
#define MAX_JOBS 16

/* What a child shares with the runner: written by the child, read after it ended. */
typedef struct {
    fz_coverage cov;
    volatile size_t trace_len;
    int trace_truncated;
    char trace[TRACE_CAP];
} shared_slot;

typedef struct {
    shared_slot *shm;
    int err_fd;         /* the child's stdout and stderr (a temporary file) */
    pid_t pid;
    uint64_t seed;
    double started;
    int overdue;        /* the runner killed it: its own timer did not end it */
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup_job(job *j)
{
    j->shm = mmap(NULL, sizeof *j->shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                  -1, 0);
    if (j->shm == MAP_FAILED) {
        perror("fuzz: mmap");
        return -1;
    }
    FILE *f = tmpfile();
    if (!f) {
        perror("fuzz: tmpfile");
        return -1;
    }
    j->err_fd = fileno(f);
    j->pid = 0;
    return 0;
}

/* In the child: run the program, leave the trace in the shared slot. exit() (not
 * _exit) so that LeakSanitizer checks the child's heap. */
static __attribute__((noreturn)) void child_run(const fz_program *p, job *j, double timeout_s,
                                                 int redirect)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &chld, NULL); /* blocked in the runner (wait_job) */
    setpgid(0, 0);
    if (redirect) {
        dup2(j->err_fd, 1);
        dup2(j->err_fd, 2);
    }
    struct itimerval it = {.it_value = {(time_t)timeout_s,
                                        (suseconds_t)((timeout_s - (time_t)timeout_s) * 1e6)}};
    setitimer(ITIMER_REAL, &it, NULL); /* SIGALRM's default action ends a hung program */
    /* The length is published as the trace grows, so a crash leaves what came before. */
    fz_trace trace = {.buf = j->shm->trace, .cap = TRACE_CAP, .published = &j->shm->trace_len};
    memset(&j->shm->cov, 0, sizeof j->shm->cov);
    fz_run(p, &trace, &j->shm->cov);
    j->shm->trace_truncated = trace.truncated;
    fflush(NULL);
    exit(0);
}

static pid_t start_job(const fz_program *p, job *j, double timeout_s)
{
    if (ftruncate(j->err_fd, 0) != 0 || lseek(j->err_fd, 0, SEEK_SET) != 0)
        return -1;
    j->shm->trace_len = 0;
    j->shm->trace_truncated = 0;
    fflush(NULL);
    /* A machine short of processes for a moment (EAGAIN: other jobs' threads) is no
     * verdict on the program: wait and try again, for up to half a minute. */
    pid_t pid;
    for (int attempt = 0; (pid = fork()) < 0 && (errno == EAGAIN || errno == ENOMEM) &&
                          attempt < 300; attempt++) {
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (pid == 0)
        child_run(p, j, timeout_s, 1);
    j->pid = pid;
    j->started = now_s();
    j->overdue = 0;
    return pid;
}

/* Waits until one of the n jobs' children ends, and returns that job with its wait
 * status. A child still running a second after its time limit is killed here: its own
 * timer (SIGALRM) ends a plain hang, this also ends one that cannot take the signal.
 * SIGCHLD is blocked in the runner, so that it can wait for it with a timeout. */
static job *wait_job(job *slots, int n, double timeout_s, int *status)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    for (;;) {
        pid_t pid = waitpid(-1, status, WNOHANG);
        if (pid < 0 && errno != EINTR)
            return NULL;
        for (int i = 0; pid > 0 && i < n; i++)
            if (slots[i].pid == pid)
                return &slots[i];
        if (pid > 0)
            continue;
        double now = now_s();
        for (int i = 0; i < n; i++)
            if (slots[i].pid && !slots[i].overdue && now - slots[i].started > timeout_s + 1) {
                slots[i].overdue = 1;
                kill(-slots[i].pid, SIGKILL);
                kill(slots[i].pid, SIGKILL);
            }
        struct timespec tick = {0, 50 * 1000 * 1000};
        sigtimedwait(&chld, NULL, &tick);
    }
}

/* The first line of a sanitizer or glibc report in the child's output, if any. */
static void report_snippet(int fd, char *out, size_t outsz)
{
    char buf[8192];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    out[0] = 0;
    if (n <= 0)
        return;
    buf[n] = 0;
    static const char *const marks[] = {"ERROR: AddressSanitizer: ", "ERROR: LeakSanitizer: ",
                                        "runtime error: ", "free(): ", "double free",
                                        "malloc(): ", "corrupted", "fatal", "Assertion"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        char *at = strstr(buf, marks[i]);
        if (at) {
            size_t len = strcspn(at, "\n");
            if (len > 100)
                len = 100;
            snprintf(out, outsz, ": %.*s", (int)len, at);
            for (char *c = out; *c; c++)
                if (*c == '\t')
                    *c = ' ';
            return;
        }
    }
}

/* How the child ended; 0 if it ran to the end. */
static int describe_status(int status, const job *j, double timeout_s, char *why, size_t sz)
{
    char snippet[160];
    report_snippet(j->err_fd, snippet, sizeof snippet);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !j->shm->trace_truncated)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        snprintf(why, sz, "trace longer than %u bytes", TRACE_CAP);
    else if (WIFEXITED(status))
        snprintf(why, sz, "exit status %d%s", WEXITSTATUS(status), snippet);
    else if ((WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) || j->overdue)
        snprintf(why, sz, "timed out after %g s", timeout_s);
    else if (WIFSIGNALED(status))
        snprintf(why, sz, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), snippet);
    else
        snprintf(why, sz, "ended with status %#x", status);
    return 1;
}

/* The text form must carry the program exactly (oracle.py runs the text). */
static int round_trips(const fz_program *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return 0;
    fz_print(f, p);
    fclose(f);
    f = fmemopen(text, len, "r");
    fz_program back;
    char err[256];
    int ok = f && fz_parse(&back, f, err, sizeof err) == 0 && memcmp(&back, p, sizeof back) == 0;
    if (f)
        fclose(f);
    free(text);
    return ok;
}

typedef struct {
    int ok;
    uint64_t hash;
    char why[256];
} seed_result;

static int run_range(uint64_t first, uint64_t count, int jobs, double timeout_s,
                     const char *cov_path, const char *label, int quiet)
{
    job slots[MAX_JOBS];
    for (int i = 0; i < jobs; i++)
        if (setup_job(&slots[i]) != 0)
            return 2;
    seed_result *results = calloc(count, sizeof *results);
    fz_coverage total = {0};
    if (!results) {
        fprintf(stderr, "fuzz: out of memory\n");
        return 2;
    }
    int progress = !quiet && isatty(2);
    uint64_t next = 0, done = 0, failed = 0;
    int running = 0;
    double t0 = now_s(), last_progress = 0;
    while (done < count) {
        for (int i = 0; i < jobs && next < count; i++) {
            if (slots[i].pid)
                continue;
            fz_program p;
            fz_generate(&p, first + next);
            slots[i].seed = next;
            if (!round_trips(&p)) {
                results[next].ok = 0;
                snprintf(results[next].why, sizeof results[next].why,
                         "its text form does not parse back to the same program");
                next++, done++, failed++;
                continue;
            }
            if (start_job(&p, &slots[i], timeout_s) < 0) {
                fprintf(stderr, "fuzz: fork: %s\n", strerror(errno));
                free(results);
                return 2;
            }
            next++;
            running++;
        }
        if (!running)
            continue;
        int status;
        job *j = wait_job(slots, jobs, timeout_s, &status);
        if (!j) {
            fprintf(stderr, "fuzz: waitpid: %s\n", strerror(errno));
            free(results);
            return 2;
        }
        kill(-j->pid, SIGKILL); /* anything the program left behind */
        j->pid = 0;
        running--;
        done++;
        seed_result *r = &results[j->seed];
        fz_trace trace = {.buf = j->shm->trace, .len = j->shm->trace_len};
        if (describe_status(status, j, timeout_s, r->why, sizeof r->why) == 0) {
            r->ok = 1;
            r->hash = fz_trace_hash(&trace);
        } else {
            failed++;
        }
        for (int c = 0; c < FZ_COV_N; c++)
            total.count[c] += j->shm->cov.count[c];
        if (progress && (now_s() - last_progress > 0.2 || done == count)) {
            last_progress = now_s();
            fprintf(stderr, "\r  %-24s %llu/%llu programs, %llu failed, %.1f s ", label,
                    (unsigned long long)done, (unsigned long long)count,
                    (unsigned long long)failed, last_progress - t0);
        }
    }
    if (progress)
        fprintf(stderr, "\r%*s\r", 80, "");
    for (uint64_t i = 0; i < count; i++) {
        if (results[i].ok)
            printf("%llu ok %016llx\n", (unsigned long long)(first + i),
                   (unsigned long long)results[i].hash);
        else
            printf("%llu fail %s\n", (unsigned long long)(first + i), results[i].why);
    }
    if (cov_path) {
        FILE *f = fopen(cov_path, "w");
        if (!f) {
            fprintf(stderr, "fuzz: %s: %s\n", cov_path, strerror(errno));
            free(results);
            return 2;
        }
        for (int c = 0; c < FZ_COV_N; c++)
            fprintf(f, "%s %llu\n", fz_coverage_names[c], (unsigned long long)total.count[c]);
        fclose(f);
    }
    free(results);
    return 0;
}

/* One program, its trace on stdout; forked unless no_fork (for a debugger). */
static int run_one(const fz_program *p, double timeout_s, int no_fork)
{
    if (no_fork) {
        static char buf[TRACE_CAP];
        fz_trace trace = {.buf = buf, .cap = sizeof buf, .echo = stdout}; /* line by line */
        fz_run(p, &trace, NULL);
        printf("# ok %016llx\n", (unsigned long long)fz_trace_hash(&trace));
        return 0;
    }
    job j;
    if (setup_job(&j) != 0 || start_job(p, &j, timeout_s) < 0)
        return 2;
    int status;
    if (!wait_job(&j, 1, timeout_s, &status)) {
        fprintf(stderr, "fuzz: waitpid: %s\n", strerror(errno));
        return 2;
    }
    kill(-j.pid, SIGKILL);
    fz_trace trace = {.buf = j.shm->trace, .len = j.shm->trace_len};
    fwrite(trace.buf, 1, trace.len, stdout);
    char why[256];
    int failed = describe_status(status, &j, timeout_s, why, sizeof why);
    if (failed)
        printf("# fail %s\n", why);
    else
        printf("# ok %016llx\n", (unsigned long long)fz_trace_hash(&trace));
    /* What the child printed (a sanitizer's report): shown, marked as not the trace. */
    char buf[4096];
    off_t off = 0;
    ssize_t n;
    int at_line_start = 1;
    while ((n = pread(j.err_fd, buf, sizeof buf, off)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (at_line_start)
                fputs("# ", stdout);
            putchar(buf[i]);
            at_line_start = buf[i] == '\n';
        }
        off += n;
    }
    if (!at_line_start)
        putchar('\n');
    return failed;
}

static uint64_t parse_seed(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || !*s) {
        fprintf(stderr, "fuzz: %s must be a number, not '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-s FIRST] [-n COUNT] [-j JOBS] [-t SECONDS] [-c COVFILE] [-L LABEL] [-q]\n"
            "       %s -r SEED | -f FILE [--no-fork] [-t SECONDS]\n"
            "       %s -p SEED | -P FIRST COUNT\n"
            "  -s/-n  run the programs of seeds FIRST.. (default 0, 100), one child each\n"
            "  -j     children at once (default 1)     -t  limit per program (default 10 s)\n"
            "  -c     write the coverage counters      -L  label of the progress line\n"
            "  -r/-f  run one program (a seed's, a file's; - = stdin), print its trace\n"
            "  -p/-P  print programs\n",
            argv0, argv0, argv0);
}

int main(int argc, char **argv)
{
    uint64_t first = 0, count = 100;
    int jobs = 1, quiet = 0, no_fork = 0;
    double timeout_s = 10;
    const char *cov_path = NULL, *label = gl_port()->name, *file = NULL;
    enum { RANGE, RUN_SEED, RUN_FILE, PRINT_ONE, PRINT_RANGE } mode = RANGE;
    uint64_t seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-s") && more)
            first = parse_seed(argv[++i], "-s");
        else if (!strcmp(a, "-n") && more)
            count = parse_seed(argv[++i], "-n");
        else if (!strcmp(a, "-j") && more)
            jobs = atoi(argv[++i]);
        else if (!strcmp(a, "-t") && more)
            timeout_s = atof(argv[++i]);
        else if (!strcmp(a, "-c") && more)
            cov_path = argv[++i];
        else if (!strcmp(a, "-L") && more)
            label = argv[++i];
        else if (!strcmp(a, "-q"))
            quiet = 1;
        else if (!strcmp(a, "--no-fork"))
            no_fork = 1;
        else if (!strcmp(a, "-r") && more)
            mode = RUN_SEED, seed = parse_seed(argv[++i], "-r");
        else if (!strcmp(a, "-f") && more)
            mode = RUN_FILE, file = argv[++i];
        else if (!strcmp(a, "-p") && more)
            mode = PRINT_ONE, seed = parse_seed(argv[++i], "-p");
        else if (!strcmp(a, "-P") && i + 2 < argc) {
            mode = PRINT_RANGE;
            first = parse_seed(argv[++i], "-P FIRST");
            count = parse_seed(argv[++i], "-P COUNT");
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (jobs < 1 || jobs > MAX_JOBS || timeout_s <= 0) {
        fprintf(stderr, "fuzz: -j takes 1..%d, -t a positive number of seconds\n", MAX_JOBS);
        return 2;
    }
    fz_program p;
    switch (mode) {
    case RANGE:
        return run_range(first, count, jobs, timeout_s, cov_path, label, quiet);
    case PRINT_ONE:
        fz_generate(&p, seed);
        fz_print(stdout, &p);
        return 0;
    case PRINT_RANGE:
        for (uint64_t i = 0; i < count; i++) {
            fz_generate(&p, first + i);
            fz_print(stdout, &p);
        }
        return 0;
    case RUN_SEED:
        fz_generate(&p, seed);
        return run_one(&p, timeout_s, no_fork);
    case RUN_FILE: {
        FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
        char err[256];
        if (!f) {
            fprintf(stderr, "fuzz: %s: %s\n", file, strerror(errno));
            return 2;
        }
        if (fz_parse(&p, f, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz: %s: %s\n", file, err);
            return 2;
        }
        return run_one(&p, timeout_s, no_fork);
    }
    }
    return 2;
}
