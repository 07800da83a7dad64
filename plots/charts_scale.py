"""Switch cost at scale: ns per switch vs the number of live greenlets (ring, ring_shuffled).

Each function takes a Results and the port colours and returns (figure, [what is missing]),
as the charts of charts.py do.
"""

from matplotlib.lines import Line2D

from charts import Missing, _numbers, _values
from results import TIME
from style import finish, human, new_figure, no_data

ORDERS = [("ring", "-", "o", "in creation order"), ("ring_shuffled", "--", "s", "shuffled order")]


def ring(results, colours):
    """One line per port and order; a port that stopped at its limit ends with an x and
    the limit's name (the harness's "port limit: ..." cases), instead of a missing point."""
    fig, (ax,) = new_figure(width=12, height=6.2)
    missing = Missing()
    families = [f for f, *_ in ORDERS]
    if not any(c.family in families for c in results.cases.values()):
        missing.family("ring")
        no_data(ax, "no ring/<port>/<N> cases")
        finish(fig, "Switch cost vs live greenlets", results, missing.summary())
        return fig, missing.summary()
    sizes = _numbers(results, families, 2)
    drawn, limits = [], []
    for port in results.ports():
        for family, style, marker, _ in ORDERS:
            points, limit = [], None
            for n in sizes:
                case = results.cases.get("%s/%s/%d" % (family, port, n))
                if case is not None and case.limit():
                    limit = limit or case.limit()
                    continue
                case = missing.check(results, "%s/%s/%d" % (family, port, n))
                if case:
                    points.append((n, case))
            if not points:
                continue
            med, err = _values([c for _, c in points], TIME)
            ax.errorbar([n for n, _ in points], med, yerr=err, color=colours[port],
                        linestyle=style, marker=marker, markersize=4, capsize=2, linewidth=2)
            if port not in drawn:
                drawn.append(port)
            if limit and family == "ring":
                limits.append((port, limit, points[-1][0], med[-1]))
    for port, (name, held), n, y in limits:
        ax.plot([held], [y], marker="x", markersize=10, markeredgewidth=2, color=colours[port],
                linestyle="none")
    if limits:  # named beside the chart: ports stopping at the same limit overlap on it
        text = "Where a port stopped (x):\n" + "\n".join(
            "%s: limit at %s\n   (%s)" % (port, human(held), name)
            for port, (name, held), _, _ in limits)
        ax.text(1.02, 0.0, text, transform=ax.transAxes, fontsize=8, va="bottom", ha="left")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([human(n) for n in sizes])
    ax.set_xlabel("live greenlets in the ring (log scale); x: the most the port held")
    ax.set_ylabel("ns per switch (log scale; median ± stddev)")
    handles = [Line2D([], [], color=colours[p], linewidth=2, label=p) for p in drawn]
    handles += [Line2D([], [], color="black", linestyle=s, marker=m, label=text)
                for _, s, m, text in ORDERS]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    finish(fig, "Switch cost vs live greenlets: each switches to the next in a ring",
           results, missing.summary())
    return fig, missing.summary()


CHARTS = [("ring", ring, "Switch cost vs live greenlets")]
