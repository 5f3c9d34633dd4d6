"""leadfunnel's benchmarks, run as `python -m bench` (`make bench`); see bench/README.md.

`support` holds what the figures share (servers, databases, CPU and memory accounting,
percentiles, the landing form, wrk), `figures` one module per figure or family of figures,
and `drivers` the parts that run inside Django, as subprocesses (`python -m
bench.drivers.NAME`). Nothing here is imported at package import: a driver must be able to
set Django up before any of the apps' modules load.
"""
