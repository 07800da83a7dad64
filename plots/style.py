"""Look shared by every chart: one colour per port, line style per loop, titles and footers.

A port keeps its colour in every chart and every run: the known ports have fixed colours;
a port not listed here takes a colour from EXTRA chosen by a hash of its name (the next free
one, in alphabetical order of the unknown ports, if two collide), so it does not depend on
the order of the results file.
"""

import textwrap
import zlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

PORT_COLOURS = {
    "asm_separate": "#1f77b4",  # blue
    "ucontext": "#ff7f0e",      # orange
    "stackcopy": "#2ca02c",     # green
    "threads": "#d62728",       # red
    "boost_fcontext": "#9467bd",  # purple
}
EXTRA = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a"]
BASELINE_COLOUR = "#444444"
PEER_COLOUR = "#f2f2f2"   # peers (Python greenlet, gevent): pale, hatched, apart from the ports
PEER_HATCH = "xx"
LOOP_STYLE = {"libev": "-", "libuv": "--"}

plt.rcParams.update({
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 9,
    "legend.framealpha": 0.85,
    "svg.hashsalt": "switchyard",  # stable SVG ids: a redraw of the same data is the same file
})


def palette(ports):
    """Colour for every port name given (and for the known ones)."""
    colours = dict(PORT_COLOURS)
    taken = set(colours.values())
    for port in sorted(p for p in set(ports) if p not in colours):
        start = zlib.crc32(port.encode()) % len(EXTRA)
        for i in range(len(EXTRA)):
            c = EXTRA[(start + i) % len(EXTRA)]
            if c not in taken:
                break
        else:
            c = EXTRA[start]  # more unknown ports than colours: reuse
        colours[port] = c
        taken.add(c)
    return colours


def loop_style(loop):
    return LOOP_STYLE.get(loop, ":")


def new_figure(ncols=1, width=None, height=5.2):
    fig, axes = plt.subplots(1, ncols, figsize=(width or 6.5 * ncols + 1.5, height), squeeze=False)
    return fig, list(axes[0])


def finish(fig, title, results, missing, top=0.95):
    """Title, the machine/date footer and the list of what the results file lacks."""
    fig.suptitle(title, fontsize=13, fontweight="bold")
    lines = textwrap.wrap(results.machine_line(), 150)
    if missing:
        note = "Not in this results file: " + "; ".join(missing)
        lines += ["\n".join(textwrap.wrap(note, 150))]
    fig.text(0.5, 0.01, "\n".join(lines), ha="center", va="bottom", fontsize=8, color="#333333")
    bottom = 0.06 + 0.03 * sum(line.count("\n") + 1 for line in lines)
    fig.tight_layout(rect=(0, bottom, 1, top))


def no_data(ax, what):
    ax.text(0.5, 0.5, "no data:\n" + what, ha="center", va="center", transform=ax.transAxes,
            fontsize=11, color="#888888")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def save(fig, out_dir, stem):
    paths = []
    for ext in ("png", "svg"):
        path = "%s/%s.%s" % (out_dir, stem, ext)
        meta = {"Date": None} if ext == "svg" else {"Software": None}
        fig.savefig(path, metadata=meta)
        paths.append(path)
    plt.close(fig)
    return paths


def duration(ns):
    """A time in ns as 3 significant figures in ns, µs, ms or s: 4000 -> '4.00 µs'."""
    for div, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if abs(ns) >= div:
            return "%#.3g %s" % (ns / div, unit)
    return "%#.3g ns" % ns


def human(value, unit=""):
    """3 significant figures with k/M suffixes: 1234567 -> '1.23 M'."""
    if value is None:
        return "-"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= div:
            return "%.3g%s%s" % (value / div, suffix, unit)
    return "%.3g%s" % (value, (" " + unit) if unit else "")
