"""The I/O charts (harness/io/run.sh's figures). Each function takes a Results and the port
colours and returns (figure, [what is missing]), as the functions of charts.py do.

  io_echo_throughput  round trips/s vs connections, one panel per message size
  io_echo_p99         p99 round-trip latency vs connections, same panels
  io_echo_cpu         the server's CPU time per round trip vs connections, same panels
  io_http             HTTP requests/s and server CPU per request, per server and connections

A port's server keeps its port's colour (libev solid, libuv dashed); the peers are drawn apart:
grey and black, thick and translucent, square and triangle markers, listed in their own legend.
Points a server could not reach are named in the footer with the reason.
"""

from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter

import io_report as IO
from charts import Missing
from style import BASELINE_COLOUR, finish, human, loop_style, new_figure, no_data

# peer -> (colour, line style, marker); a peer not listed (a server of your own) gets OTHER.
PEER_STYLE = {
    "libev_callback": (BASELINE_COLOUR, "-", "s"),
    "libuv_poll": (BASELINE_COLOUR, "--", "s"),
    "libuv_stream": ("#777777", "--", "D"),
    "gevent": ("#000000", ":", "^"),
    "thread_per_conn": ("#999999", "-.", "v"),
}
OTHER_PEER = ("#555555", (0, (1, 3)), "P")


class _Missing(Missing):
    """Missing, with the reason a point was out of reach kept short."""

    def check(self, results, name, metric):
        case = results.cases.get(name)
        if case is not None and case.error:
            self.items.append("%s (%s)" % (name, case.error.split(";")[0][:70]))
            return None
        return super().check(results, name, metric)


def _us_tick(v, _pos=None):
    """Microseconds, 3 significant figures: 15.98 -> '16 µs', 2500 -> '2.5 ms'."""
    for div, unit in ((1e6, "s"), (1e3, "ms")):
        if v >= div:
            return "%.3g %s" % (v / div, unit)
    return "%.3g µs" % v


def _size_label(size):
    return "%d KiB messages" % (size // 1024) if size >= 1024 and size % 1024 == 0 \
        else "%d-byte messages" % size


def _legend(fig, ax, results, colours, drawn):
    """Two legends: the ports (colour) with the loops (line style), and the peers."""
    ports = [p for p in results.ports() if p in drawn["ports"]] + \
        sorted(p for p in drawn["ports"] if p not in results.ports())
    handles = [Line2D([], [], color=colours[p], linewidth=2, label=p) for p in ports]
    handles += [Line2D([], [], color="black", linestyle=loop_style(lp), label="on " + lp)
                for lp in IO.LOOPS if lp in drawn["loops"]]
    peers = [Line2D([], [], color=c, linestyle=ls, marker=m, linewidth=3, alpha=0.6, label=label)
             for name, label in drawn["peers"]
             for c, ls, m in [PEER_STYLE.get(name, OTHER_PEER)]]
    first = ax.legend(handles=handles, title="hub server, per port", loc="upper left",
                      bbox_to_anchor=(1.02, 1.0), fontsize=8)
    if peers:
        ax.add_artist(first)
        ax.legend(handles=peers, title="peers (no greenlets)", loc="upper left",
                  bbox_to_anchor=(1.02, 0.45), fontsize=8)


def _echo(results, colours, metric, title, ylabel, logy, fmt):
    sizes = IO.numbers(results, [IO.ECHO, IO.ECHO_PEER], -2)
    conns = IO.numbers(results, [IO.ECHO, IO.ECHO_PEER], -1)
    fig, axes = new_figure(ncols=max(1, len(sizes)), width=5.2 * max(1, len(sizes)) + 2.6,
                           height=5.4)
    missing = _Missing()
    if not sizes:
        missing.family("io_echo")
        no_data(axes[0], "no io_echo cases (harness/io/run.sh)")
        finish(fig, title, results, missing.summary())
        return fig, missing.summary()
    drawn = {"ports": set(), "loops": set(), "peers": []}
    for ax, size in zip(axes, sizes):
        lines = []
        for s in IO.servers(results, IO.ECHO_PEER):
            colour, ls, marker = PEER_STYLE.get(s.peer, OTHER_PEER)
            lines.append((s, dict(color=colour, linestyle=ls, marker=marker, linewidth=3.2,
                                  alpha=0.55, markersize=5, zorder=2)))
        for s in IO.servers(results, IO.ECHO):
            lines.append((s, dict(color=colours.get(s.port, "#7f7f7f"),
                                  linestyle=loop_style(s.loop), marker="o", linewidth=1.8,
                                  alpha=0.95, markersize=4, zorder=3)))
        for s, kw in lines:
            points = [(n, missing.check(results, "%s/%s/%d/%d" % (s.family, s.name, size, n),
                                        metric)) for n in conns]
            points = [(n, c) for n, c in points if c]
            if not points:
                continue
            med = [c.median(metric) for _, c in points]
            sd = [c.stddev(metric) or 0.0 for _, c in points]
            ax.errorbar([n for n, _ in points], med, yerr=[[min(d, m * 0.95) for d, m in
                                                           zip(sd, med)], sd], capsize=2, **kw)
            if s.peer:
                if (s.peer, s.label) not in drawn["peers"]:
                    drawn["peers"].append((s.peer, s.label))
            else:
                drawn["ports"].add(s.port)
                drawn["loops"].add(s.loop)
        ax.set_title(_size_label(size))
        ax.set_xscale("log")
        ax.set_xticks(conns)
        ax.set_xticklabels([str(n) for n in conns])
        ax.set_xlabel("concurrent connections (log scale)")
        if logy:
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())
        else:
            ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(fmt))
    axes[0].set_ylabel(ylabel)
    _legend(fig, axes[-1], results, colours, drawn)
    finish(fig, title, results, missing.summary())
    return fig, missing.summary()


def io_echo_throughput(results, colours):
    return _echo(results, colours, "round_trips_per_s",
                 "Echo servers under an external load generator: round trips per second",
                 "round trips per second (median ± stddev of the slices)", logy=False,
                 fmt=lambda v, _: human(v))


def io_echo_p99(results, colours):
    return _echo(results, colours, "p99_us",
                 "Echo servers: 99th percentile round-trip latency",
                 "p99 round-trip latency (log scale)", logy=True, fmt=_us_tick)


def io_echo_cpu(results, colours):
    return _echo(results, colours, "server_cpu_us_per_rt",
                 "Echo servers: the server's CPU time per round trip (user + system)",
                 "server CPU per round trip (log scale)", logy=True, fmt=_us_tick)


def io_http(results, colours):
    servers = IO.servers(results, IO.HTTP) + IO.servers(results, IO.HTTP_PEER)
    conns = IO.numbers(results, [IO.HTTP, IO.HTTP_PEER], -1)
    fig, axes = new_figure(ncols=2, width=15, height=5.6)
    missing = _Missing()
    if not servers:
        missing.family("io_http")
        for ax in axes:
            no_data(ax, "no io_http cases (harness/io/run.sh)")
        finish(fig, "HTTP/1.1 keep-alive servers measured with wrk", results, missing.summary())
        return fig, missing.summary()
    width = 0.8 / max(1, len(conns))
    pywsgi = IO.peer(results, IO.HTTP_PEER, IO.GEVENT)
    panels = [(axes[0], "requests_per_s", "requests per second (log scale)", lambda v: human(v),
               "Requests per second (label: ÷ gevent pywsgi)"),
              (axes[1], "server_cpu_us_per_req", "server CPU per request (log scale)", _us_tick,
               "The server's CPU time per request")]
    for ax, metric, ylabel, fmt, title in panels:
        for i, n in enumerate(conns):
            xs, meds, errs, fills, texts = [], [], [], [], []
            for x, s in enumerate(servers):
                case = s.case(results, n)
                if metric == "requests_per_s":  # the first panel names what is missing
                    case = missing.check(results, "%s/%s/%d" % (s.family, s.name, n), metric)
                elif case is None or not case.has(metric):
                    case = None
                if not case:
                    continue
                xs.append(x + (i - (len(conns) - 1) / 2) * width)
                meds.append(case.median(metric))
                errs.append(case.stddev(metric) or 0.0)
                fills.append(colours.get(s.port, "#7f7f7f") if s.port else
                             PEER_STYLE.get(s.peer, OTHER_PEER)[0])
                ref = IO.value(pywsgi.case(results, n), metric) if pywsgi else None
                texts.append("%s  %.1f×" % (fmt(meds[-1]), meds[-1] / ref)
                             if ref and metric == "requests_per_s" else fmt(meds[-1]))
            bars = ax.bar(xs, meds, width, yerr=[[min(e, m * 0.95) for e, m in zip(errs, meds)],
                                                  errs], color=fills, edgecolor="black",
                          linewidth=0.6, capsize=2, alpha=1.0 if i == 0 else 0.55,
                          hatch=None if i == 0 else "//", label="%d connections" % n)
            for bar, text in zip(bars, texts):
                ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7, rotation=90)
        ax.set_xticks(range(len(servers)))
        ax.set_xticklabels([s.label.replace(" (", "\n(") for s in servers], rotation=35,
                           ha="right", fontsize=8)
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p, f=fmt: f(v)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.93), ncol=len(conns),
               fontsize=9, title="wrk -t1 -c<N>; bar = median of the wrk runs, error bar = stddev", title_fontsize=9)
    finish(fig, "HTTP/1.1 keep-alive servers measured with wrk (hub on each port; peers grey/black)",
           results, missing.summary(), top=0.86)
    return fig, missing.summary()


CHARTS = [
    ("io_echo_throughput", io_echo_throughput, "I/O: echo round trips per second"),
    ("io_echo_p99", io_echo_p99, "I/O: echo p99 latency"),
    ("io_echo_cpu", io_echo_cpu, "I/O: server CPU per round trip"),
    ("io_http", io_http, "I/O: HTTP requests per second (wrk)"),
]
