#!/usr/bin/python3
"""Draw the Switchyard charts and the Markdown report from a results file.

usage: /usr/bin/python3 plots/plot.py [RESULTS.json] [--out DIR] [--report FILE.md | --no-report]

  RESULTS.json   default results/latest.json
  --out DIR      where the charts go (PNG and SVG); default plots/out/ for results/latest.json
                 (the charts the README shows), plots/out/<name>/ for any other results file,
                 so drawing a QUICK or older run never replaces the reference charts
  --report FILE  default: next to the results file, same name, .md (results/latest.md)

Draws whatever the file has: absent or failed cases are named on the chart, in the report and
on stderr. Exit status 0 when the charts were drawn, 1 when the file cannot be read as results.
"""

import argparse
import importlib.util
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

if importlib.util.find_spec("matplotlib") is None:
    sys.exit("plot.py: matplotlib is missing: install the Debian package python3-matplotlib "
             "(make deps) and run with /usr/bin/python3")

import charts  # noqa: E402
import io_charts  # noqa: E402
import report  # noqa: E402
import results  # noqa: E402
import style  # noqa: E402


def draw(res, out_dir):
    """Draw every chart; returns [(stem, title, png path)], {stem: missing}, {stem: figure}."""
    os.makedirs(out_dir, exist_ok=True)
    colours = style.palette(res.ports())
    drawn, missing, figures = [], {}, {}
    for stem, function, title in charts.CHARTS + io_charts.CHARTS:
        fig, lacks = function(res, colours)
        png, _svg = style.save(fig, out_dir, stem)
        drawn.append((stem, title, png))
        missing[stem] = lacks
        figures[stem] = fig
    return drawn, missing, figures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("results", nargs="?", default=os.path.join(ROOT, "results", "latest.json"))
    ap.add_argument("--out")
    ap.add_argument("--report")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args(argv)

    if not os.path.exists(args.results):
        print("plot.py: no results file %s: run `make bench` first, or name a file "
              "(make plots RESULTS=<file>)" % args.results, file=sys.stderr)
        return 1
    try:
        res = results.load(args.results)
    except results.ResultsError as e:
        print("plot.py: %s" % e, file=sys.stderr)
        return 1
    if not res.cases:
        print("plot.py: %s: no benchmarks in the file: nothing to draw" % args.results,
              file=sys.stderr)
        return 1

    if not args.out:
        stem = os.path.splitext(os.path.basename(args.results))[0]
        latest = os.path.abspath(args.results) == os.path.join(ROOT, "results", "latest.json")
        args.out = os.path.join(HERE, "out") if latest else os.path.join(HERE, "out", stem)
    drawn, missing, _ = draw(res, args.out)
    for stem, lacks in missing.items():
        if lacks:
            print("plot.py: %s: not in this results file: %s" % (stem, "; ".join(lacks)),
                  file=sys.stderr)
    print("plot.py: %d charts (PNG and SVG) in %s" % (len(drawn), os.path.relpath(args.out)))
    if not args.no_report:
        path = args.report or os.path.splitext(args.results)[0] + ".md"
        report.write(res, drawn, path, missing)
        print("plot.py: report in %s" % os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
