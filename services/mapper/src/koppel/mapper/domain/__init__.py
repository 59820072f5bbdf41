"""The mapper's pure rules: no I/O, no database, no bus. Everything here is a function of its
arguments, so the handlers, the preview API and the benchmark run exactly the same code."""
