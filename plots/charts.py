"""The charts of the greenlet and hub cases (the I/O ones are in io_charts.py). Each function
takes a Results and returns (figure, [what is missing]).

A chart draws whatever the results file has; cases that are absent or failed are named in the
figure's footer (and returned, so plot.py can print them) instead of stopping the drawing.
"""

from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from results import TIME, baseline_of, ratio
from style import duration, finish, human, new_figure, no_data

# The points of a chart are those the file has for any port (a QUICK run measures fewer
# stack depths, say): a point one port lacks and another has is named as missing.
LOOPS = ["libev", "libuv"]  # this order first; any other loop after them
SWITCH_BASELINES = [("baseline_regswap", "register swap"),
                    ("baseline_swapcontext", "swapcontext"),
                    ("baseline_thread_handoff", "thread hand-off")]
MAX_MISSING_SHOWN = 8


class Missing:
    """Collects what a chart could not draw, in a short readable form."""

    def __init__(self):
        self.items = []

    def check(self, results, name, metric=TIME):
        """The case if it has the metric; otherwise record why not and return None."""
        case = results.cases.get(name)
        if case is None:
            self.items.append(name)
        elif case.error:
            self.items.append("%s (failed: %s)" % (name, case.error[:80]))
        elif not case.has(metric):
            self.items.append("%s (no %s)" % (name, metric))
        elif not case.median(metric) > 0:  # nothing to draw on a log axis or as a rate
            self.items.append("%s (%s = %g)" % (name, metric, case.median(metric)))
        else:
            return case
        return None

    def family(self, name):
        self.items.append("all %s cases" % name)

    def summary(self):
        items = self._collapsed()
        if len(items) <= MAX_MISSING_SHOWN:
            return items
        shown = items[: MAX_MISSING_SHOWN - 1]
        return shown + ["and %d more" % (len(items) - len(shown))]

    def _collapsed(self):
        """Absent cases that differ only in their last part as one: hub_sleep0/x/libev/{10,1000}."""
        out, groups = [], {}
        for item in self.items:
            if " " in item or "/" not in item:
                out.append(item)
                continue
            prefix, last = item.rsplit("/", 1)
            if prefix not in groups:
                groups[prefix] = []
                out.append(prefix)
            groups[prefix].append(last)
        return [item if item not in groups else
                "%s/%s" % (item, groups[item][0]) if len(groups[item]) == 1 else
                "%s/{%s}" % (item, ",".join(groups[item])) for item in out]


def _numbers(results, families, index):
    """The numbers found at one position of the names of some families, sorted."""
    return sorted({int(c.parts[index]) for c in results.cases.values() if c.family in families
                   and len(c.parts) > abs(index) and c.parts[index].isdigit()})


def _loops(results, families, index):
    found = {c.parts[index] for c in results.cases.values()
             if c.family in families and len(c.parts) > abs(index)}
    return [lp for lp in LOOPS if lp in found] + sorted(found - set(LOOPS))


def _has_family(results, family):
    return any(c.family == family for c in results.cases.values())


def _values(cases, metric, scale=1.0):
    """Medians and error bars (clipped so a log axis never goes below zero)."""
    med = [c.median(metric) * scale for c in cases]
    sd = [(c.stddev(metric) or 0.0) * scale for c in cases]
    return med, [[min(s, m * 0.95) for s, m in zip(sd, med)], sd]


def _rate_values(cases, metric=TIME, per=1e9):
    """Rates (per second) from ns per operation; stddev by first-order propagation."""
    med = [per / c.median(metric) for c in cases]
    sd = [r * (c.stddev(metric) or 0.0) / c.median(metric) for r, c in zip(med, cases)]
    return med, [[min(s, m * 0.95) for s, m in zip(sd, med)], sd]


def _bar_labels(ax, bars, texts, errors):
    """A text above each bar and above its error bar."""
    for bar, text, up in zip(bars, texts, errors[1]):
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height() + up),
                    xytext=(0, 4), textcoords="offset points", ha="center", va="bottom",
                    fontsize=8)


def _bytes(n):
    if n < 1024:
        return "%.0f B" % n
    return "%.3g KiB" % (n / 1024) if n < 1024 * 1024 else "%.3g MiB" % (n / 1024 / 1024)


def _log_headroom(ax, factor=4.0):
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * factor)


def _bars(ax, names, values, errors, colours, hatches=None):
    x = list(range(len(names)))
    bars = ax.bar(x, values, yerr=errors, color=colours, capsize=4, edgecolor="black",
                  linewidth=0.6, error_kw={"elinewidth": 1, "ecolor": "black"})
    for bar, hatch in zip(bars, hatches or []):
        bar.set_hatch(hatch)
    ax.set_xticks(x)
    ax.set_xticklabels(names)
    return bars


# ---- 1: ns per switch -----------------------------------------------------------------
def switch(results, colours):
    fig, (ax,) = new_figure(width=9.5)
    missing = Missing()
    names, cases, fills, hatches = [], [], [], []
    for port in results.ports():
        case = missing.check(results, "switch/" + port)
        if case:
            names.append(port)
            cases.append(case)
            fills.append(colours[port])
            hatches.append("")
    for name, text in SWITCH_BASELINES:
        case = missing.check(results, name)
        if case:
            names.append("baseline:\n" + text)
            cases.append(case)
            fills.append("#d9d9d9")
            hatches.append("//")
    if cases:
        med, err = _values(cases, TIME)
        bars = _bars(ax, names, med, err, fills, hatches)
        texts = []
        for case, m in zip(cases, med):
            text = duration(m)
            r = ratio(results, case.name)
            if r is not None:
                text += "\n%.2f× %s" % (r, baseline_of(case.name)[0].replace("baseline_", ""))
            texts.append(text)
        ax.set_yscale("log")
        _log_headroom(ax)
        _bar_labels(ax, bars, texts, err)
        ax.set_ylabel("ns per switch (log scale; median, error bar = stddev)")
    else:
        no_data(ax, "no switch/<port> or baseline cases")
    finish(fig, "Cost of one switch between two greenlets, per port and raw baselines",
           results, missing.summary())
    return fig, missing.summary()


# ---- 2: switch cost vs live stack depth -----------------------------------------------
def switch_depth(results, colours):
    fig, (ax,) = new_figure(width=9.5)
    missing = Missing()
    if not _has_family(results, "switch_depth"):
        missing.family("switch_depth")
        no_data(ax, "no switch_depth/<port>/<KiB> cases")
    else:
        depths = _numbers(results, ["switch_depth"], 2)
        xpos = {d: i for i, d in enumerate(depths)}
        for port in results.ports():
            points = [(d, missing.check(results, "switch_depth/%s/%d" % (port, d))) for d in depths]
            points = [(d, c) for d, c in points if c]
            if not points:
                continue
            med, err = _values([c for _, c in points], TIME)
            ax.errorbar([xpos[d] for d, _ in points], med, yerr=err, color=colours[port],
                        marker="o", capsize=3, linewidth=2, label=port)
        ax.set_xticks(range(len(depths)))
        ax.set_xticklabels(["%d KiB" % d for d in depths])
        ax.set_xlabel("live stack under each of the two switching greenlets")
        ax.set_yscale("log")
        ax.set_ylabel("ns per switch (log scale; median ± stddev)")
        if ax.get_lines():
            ax.legend(title="port", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    finish(fig, "Switch cost vs live stack depth (stack copying pays per byte)",
           results, missing.summary())
    return fig, missing.summary()


# ---- 3: memory per greenlet and the largest count held -----------------------------------
def memory(results, colours):
    fig, (left, right) = new_figure(ncols=2, width=13)
    missing = Missing()
    ports = results.ports()

    got = [(p, missing.check(results, "memory/" + p, "bytes_per_greenlet")) for p in ports]
    got = [(p, c) for p, c in got if c]
    if got:
        med, err = _values([c for _, c in got], "bytes_per_greenlet", 1 / 1024)
        bars = _bars(left, [p for p, _ in got], med, err, [colours[p] for p, _ in got])
        left.set_yscale("log")
        _log_headroom(left)
        _bar_labels(left, bars, [_bytes(m * 1024) for m in med], err)
        left.set_ylabel("KiB of RSS per suspended greenlet (log scale)")
    else:
        no_data(left, "no memory/<port> cases")
    left.set_title("Memory per suspended greenlet")

    got = [(p, missing.check(results, "max_greenlets/" + p, "max_greenlets")) for p in ports]
    got = [(p, c) for p, c in got if c]
    if got:
        med, err = _values([c for _, c in got], "max_greenlets")
        bars = _bars(right, [p for p, _ in got], med, err, [colours[p] for p, _ in got])
        right.set_yscale("log")
        _log_headroom(right, 8)
        _bar_labels(right, bars, ["%s\nlimit:\n%s" % (human(m), c.label or "not named")
                                  for m, (_, c) in zip(med, got)], err)
        right.set_ylabel("greenlets held at once (log scale)")
    else:
        no_data(right, "no max_greenlets/<port> cases")
    right.set_title("Largest number of greenlets held, and the limit hit")
    finish(fig, "Memory: what a suspended greenlet costs, and how many fit", results,
           missing.summary())
    return fig, missing.summary()


# ---- 4: rates: lifecycle, hub sleep(0), hub timers -----------------------------------------
def _grouped(ax, results, colours, missing, groups, per_op):
    """Bars grouped by `groups` [(group label, name pattern with {port})], coloured by port."""
    ports = results.ports()
    width = 0.8 / max(1, len(ports))
    drawn = False
    for i, port in enumerate(ports):
        xs, cases = [], []
        for g, (_, pattern) in enumerate(groups):
            case = missing.check(results, pattern.format(port=port))
            if case:
                xs.append(g + (i - (len(ports) - 1) / 2) * width)
                cases.append(case)
        if cases:
            med, err = _rate_values(cases)
            bars = ax.bar(xs, med, width, yerr=err, color=colours[port], edgecolor="black",
                          linewidth=0.6, capsize=2, label=port, error_kw={"elinewidth": 1})
            for bar, m, up in zip(bars, med, err[1]):
                ax.annotate(human(m), (bar.get_x() + bar.get_width() / 2, m + up),
                            xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7, rotation=90)
            drawn = True
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g for g, _ in groups])
    ax.set_yscale("log")
    if drawn:
        _log_headroom(ax, 10)
    ax.set_ylabel(per_op + " per second (log scale)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
    return drawn


def rates(results, colours):
    fig, axes = new_figure(ncols=3, width=17, height=5.6)
    missing = Missing()
    panels = [
        ("lifecycle", "Create + run + destroy", "greenlets", [("", "lifecycle/{port}")]),
        ("hub_sleep0", "Hub: sleep(0) round robin", "switches",
         [("%s\n%d greenlets" % (loop, n), "hub_sleep0/{port}/%s/%d" % (loop, n))
          for loop in _loops(results, ["hub_sleep0"], 2)
          for n in _numbers(results, ["hub_sleep0"], 3)]),
        ("hub_timers", "Hub: timer armed, fired, greenlet resumed", "timers",
         [(loop, "hub_timers/{port}/%s" % loop) for loop in _loops(results, ["hub_timers"], 2)]),
    ]
    for ax, (family, title, unit, groups) in zip(axes, panels):
        ax.set_title(title)
        if not _has_family(results, family):
            missing.family(family)
            no_data(ax, "no %s cases" % family)
            continue
        _grouped(ax, results, colours, missing, groups, unit)
        if family == "lifecycle":
            ax.set_xticks([])
    fig.legend(handles=[Patch(facecolor=colours[p], edgecolor="black", label=p)
                        for p in results.ports()], loc="upper center", ncol=8,
               bbox_to_anchor=(0.5, 0.945), title=None)
    finish(fig, "Rates: greenlet lifecycle and hub scheduling (higher is better)", results,
           missing.summary(), top=0.9)
    return fig, missing.summary()


# file stem -> drawing function, in the order of the report
CHARTS = [
    ("switch", switch, "Cost of one switch"),
    ("switch_depth", switch_depth, "Switch cost vs live stack depth"),
    ("memory", memory, "Memory per greenlet and the largest count held"),
    ("rates", rates, "Lifecycle and hub rates"),
]
