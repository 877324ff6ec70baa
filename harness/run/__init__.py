"""One ``harness run``: resolve names and configs into a plan (:mod:`harness.run.plan`), turn
it into jobs (:mod:`harness.run.jobs`), execute them (:mod:`harness.run.execute`: pretrain,
cached, then evaluate) and write one record (:mod:`harness.run.record`)."""
from harness.run.execute import execute
from harness.run.plan import RunOptions, RunPlan, plan_run

__all__ = ['RunOptions', 'RunPlan', 'execute', 'plan_run']
