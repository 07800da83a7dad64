# plots/build.mk — charts, report and comparison from results files (included by the top Makefile).
#
#   make plots [RESULTS=file.json]   redraw the charts (PNG, SVG) and the report beside the
#                                    results (results/latest.md); no run. Charts of
#                                    results/latest.json go to plots/out/, of any other
#                                    results/<name>.json to plots/out/<name>/
#   make compare A=a.json B=b.json   per-case ratios B/A between two results files
#   make plots-selftest              the self-test on the fixtures (part of `make test`)
#
# `make bench` ends with `make plots`. Python only here, Debian's matplotlib, /usr/bin/python3.
#
#   plots/plot.py     the command: charts + report      plots/results.py  reads a results file
#   plots/charts.py   the greenlet and hub charts       plots/style.py    colours, footers, saving
#   plots/io_charts.py  the I/O charts                  plots/io_report.py  the I/O ratios and tables
#   plots/report.py   the Markdown report               plots/compare.py  the comparison
#   plots/tests/      selftest.py; fixture*.json are made-up numbers written by make_fixture.py

PLOTS_PYTHON ?= /usr/bin/python3
# The file the last `make bench` wrote: QUICK=1 -> quick-latest, PORTS=/FILTER= -> partial-latest
# (as harness/run.sh names them), so `make bench ...` can end with `$(MAKE) plots` as is.
RESULTS      ?= results/$(if $(QUICK),quick-latest,$(if $(or $(FILTER),$(filter command line,$(origin PORTS))),partial-latest,latest)).json

.PHONY: plots compare plots-selftest
plots:
	@$(PLOTS_PYTHON) plots/plot.py '$(RESULTS)'

compare:
	@test -n '$(A)' && test -n '$(B)' || \
	  { echo "usage: make compare A=<results.json> B=<results.json>" >&2; exit 2; }
	@$(PLOTS_PYTHON) plots/compare.py '$(A)' '$(B)'

plots-selftest:
	@mkdir -p '$(BUILD)' && $(PLOTS_PYTHON) plots/tests/selftest.py '$(BUILD)/plots-selftest' >'$(BUILD)/plots-selftest.log' 2>&1; \
	  status=$$?; grep -v '^ok ' '$(BUILD)/plots-selftest.log'; exit $$status

TEST_EXTRA += plots-selftest
