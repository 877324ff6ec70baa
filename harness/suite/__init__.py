"""Suites: many runs of a benchmark from one YAML file (:mod:`harness.suite.spec`), all planned
and checked before anything trains (:mod:`harness.suite.planning`), run here or through submitit
on SLURM (:mod:`harness.suite.executors`), with a status and a summary table
(:mod:`harness.suite.report`); ``harness suite run|status`` is :mod:`harness.suite.commands`."""
