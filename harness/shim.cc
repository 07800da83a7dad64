// shim.cc — the C face of Google Benchmark (bench.h). The only C++ in the project:
// it forwards, it does not measure anything itself.
#include <benchmark/benchmark.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench.h"

namespace {

bool quick = false;
std::string only, except; // name prefixes: register only these / all but these

benchmark::State &state(bench_state *st) { return *reinterpret_cast<benchmark::State *>(st); }
benchmark::internal::Benchmark *bm(bench_case *c)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(c);
}

std::string vformat(const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return buf;
}

} // namespace

extern "C" {

bench_case *bench_register(bench_fn fn, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    std::string name = vformat(fmt, ap);
    va_end(ap);
    if ((!only.empty() && name.compare(0, only.size(), only) != 0) ||
        (!except.empty() && name.compare(0, except.size(), except) == 0))
        return nullptr;
    auto *b = benchmark::RegisterBenchmark(name.c_str(), [fn, arg](benchmark::State &s) {
        fn(reinterpret_cast<bench_state *>(&s), arg);
    });
    return reinterpret_cast<bench_case *>(b);
}

bench_case *bench_use_real_time(bench_case *c)
{
    if (c)
        bm(c)->UseRealTime();
    return c;
}

bench_case *bench_iterations(bench_case *c, int64_t n)
{
    if (c)
        bm(c)->Iterations(n);
    return c;
}

bench_case *bench_repetitions(bench_case *c, int n)
{
    if (c)
        bm(c)->Repetitions(n);
    return c;
}

int bench_keep_running_batch(bench_state *st, int64_t n) { return state(st).KeepRunningBatch(n); }
void bench_pause_timing(bench_state *st) { state(st).PauseTiming(); }
void bench_resume_timing(bench_state *st) { state(st).ResumeTiming(); }

void bench_counter(bench_state *st, const char *name, double value)
{
    state(st).counters[name] = benchmark::Counter(value);
}

void bench_label(bench_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    state(st).SetLabel(vformat(fmt, ap));
    va_end(ap);
}

void bench_fail(bench_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    std::string msg = vformat(fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "bench: %s\n", msg.c_str());
    state(st).SkipWithError(msg.c_str());
}

int bench_quick(void) { return quick; }

int bench_init(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (std::strncmp(argv[i], "--only=", 7) == 0) {
            only = argv[i] + 7;
        } else if (std::strncmp(argv[i], "--except=", 9) == 0) {
            except = argv[i] + 9;
        } else {
            std::fprintf(stderr,
                         "%s: unknown argument '%s' (ours: --quick, --only=<name prefix>, "
                         "--except=<name prefix>; Google Benchmark's: --help)\n",
                         argv[0], argv[i]);
            return 2;
        }
    }
    return 0;
}

int bench_run(void)
{
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // extern "C"
