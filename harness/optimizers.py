"""Optimizers the configs name that mmengine does not ship: ``LARS`` is timm's implementation
(``timm.optim.Lars``: momentum, nesterov, ``trust_coeff``, weight decay), registered under
the name the papers use."""
from timm.optim import Lars

from harness.registry import OPTIMIZERS

OPTIMIZERS.register_module(name='LARS', module=Lars)
