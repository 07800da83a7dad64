"""The ports beside the systems they re-create: Python greenlet's switch, gevent's sleep(0)
round robin and timers (harness/peers.py), and Boost.Context's raw switch.

Peers are drawn apart from the ports: right of a dashed line, pale and hatched, named
with the versions measured. Each function returns (figure, [what is missing]).
"""

from charts import Missing, _bar_labels, _bars, _log_headroom, _values
from results import TIME
from style import BASELINE_COLOUR, PEER_COLOUR, PEER_HATCH, duration, finish, new_figure, no_data

# (panel title, [(port case pattern, tick)], [(baseline case, tick)], [(peer case, tick)])
PANELS = [
    ("One switch between two greenlets",
     [("switch/{port}", "{port}")],
     [("baseline_fcontext", "Boost\nfcontext\n(raw)"), ("baseline_regswap", "register\nswap (raw)")],
     [("peer_switch/python-greenlet", "Python\ngreenlet")]),
    ("Hub sleep(0), 1 000 greenlets, libev",
     [("hub_sleep0/{port}/libev/1000", "{port}")], [],
     [("peer_hub_sleep0/gevent/libev/1000", "gevent")]),
    ("Hub timer armed, fired, resumed, libev",
     [("hub_timers/{port}/libev", "{port}")], [],
     [("peer_hub_timers/gevent/libev", "gevent")]),
]


def _version_note(results):
    v = results.sy.get("peers")
    if not isinstance(v, dict) or not v:
        return "peer versions not recorded"
    return "peers: " + ", ".join("%s %s" % (k.replace("_", " "), v[k]) for k in v)


def peers(results, colours):
    fig, axes = new_figure(ncols=len(PANELS), width=17, height=6.2)
    missing = Missing()
    for ax, (title, ports, baselines, peer_cases) in zip(axes, PANELS):
        ax.set_title(title)
        names, cases, fills, hatches = [], [], [], []
        for pattern, tick in ports:
            for port in results.ports():
                case = missing.check(results, pattern.format(port=port))
                if case:
                    names.append(tick.format(port=port).replace("_", "_\n", 1))
                    cases.append(case)
                    fills.append(colours[port])
                    hatches.append("")
        for name, tick in baselines:
            case = missing.check(results, name)
            if case:
                names.append(tick)
                cases.append(case)
                fills.append("#d9d9d9")
                hatches.append("//")
        split = len(cases)
        for name, tick in peer_cases:
            case = missing.check(results, name)
            if case:
                names.append(tick)
                cases.append(case)
                fills.append(PEER_COLOUR)
                hatches.append(PEER_HATCH)
        if not cases:
            no_data(ax, "no cases for this panel")
            continue
        med, err = _values(cases, TIME)
        bars = _bars(ax, names, med, err, fills, hatches)
        ax.set_yscale("log")
        _log_headroom(ax, 6)
        _bar_labels(ax, bars, [duration(m) for m in med], err)
        if 0 < split < len(cases):
            ax.axvline(split - 0.5, color=BASELINE_COLOUR, linestyle="--", linewidth=1)
            ax.text(split - 0.4, 0.97, "peers →", transform=ax.get_xaxis_transform(),
                    ha="left", va="top", fontsize=8, color=BASELINE_COLOUR)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylabel("ns per operation (log scale; median, error bar = stddev)")
    fig.text(0.5, 0.93, _version_note(results), ha="center", fontsize=9, color="#333333")
    finish(fig, "Ports beside the systems they re-create (peers: hatched, right of the line)",
           results, missing.summary(), top=0.92)
    return fig, missing.summary()


CHARTS = [("peers", peers, "Ports beside Python greenlet, gevent and Boost.Context")]
