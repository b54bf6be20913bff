"""Coverage-guided fuzzing of every parser that takes bytes from a peer or a file.

The harnesses (fuzz/harnesses/) are plain Python: `test_one_input(data)` runs
without atheris, which is how tests/test_fuzz_smoke.py replays the seed
corpus in every `make test`.  Only fuzz/run.py imports atheris; `make fuzz`
installs it.  fuzz/README.md says how to run, read and extend them.

This package must not import tls_web_server here: fuzz/run.py has to import
our package for the first time inside atheris.instrument_imports(), or the
fuzzer gets no coverage feedback from it.
"""
