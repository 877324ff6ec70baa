# The runtime of the evaluation protocols a Runner trains (fine-tuning, linear probes, dense
# heads): runtime.py, and the last model is tested (no model selection on the test set, so no
# validation). The evaluator fills in the test_evaluator (the protocol's metrics) unless the
# protocol's config names one. Frozen-feature protocols (no Runner) run without this file.
_base_ = ['./runtime.py']

val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
test_evaluator = None
