"""mmengine hooks of the core: the progress bar the harness adds to every run it starts, and
the cosine schedule of a target network's EMA rate that configs of several methods name."""
from __future__ import annotations

import sys

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from harness.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A tqdm progress bar for training and testing on the terminal (the log file keeps the
    detailed mmengine log)."""

    priority = 'VERY_LOW'

    def __init__(self, desc: str = 'train'):
        self.desc = desc
        self._bar = None

    def _open(self, total: int, initial: int, desc: str) -> None:
        if is_main_process():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, file=sys.stderr,
                             dynamic_ncols=True, leave=True)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_train(self, runner) -> None:
        self._open(runner.max_iters, runner.iter, self.desc)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if outputs and 'loss' in outputs:
                self._bar.set_postfix(loss=f"{float(outputs['loss'].detach()):.4f}")

    def after_train(self, runner) -> None:
        self._close()

    def before_test_epoch(self, runner) -> None:
        self._open(len(runner.test_dataloader), 0, 'test')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close()


def cosine_momentum(start: float, end: float, step: int, total: int) -> float:
    """A cosine schedule of a target network's EMA rate: ``end - (end - start) *
    (cos(pi * step / total) + 1) / 2``, ``start`` at step 0 rising to ``end`` at ``total`` and
    held there after it."""
    import math

    progress = min(max(step / max(total, 1), 0.0), 1.0)
    return end - (end - start) * (math.cos(math.pi * progress) + 1) / 2


@HOOKS.register_module()
class CosineMomentumHook(Hook):
    """Sets the model's ``momentum`` (its target network's EMA rate) before every training
    iteration by :func:`cosine_momentum`, from ``start`` (the model's own value when None) to
    ``end`` over the run. Any method whose model has a ``momentum`` attribute (the rate of its
    momentum/target encoder) can use it; several method plugins' configs do."""

    priority = 'NORMAL'

    def __init__(self, end: float = 1.0, start: float | None = None):
        self.start, self.end = start, end

    @staticmethod
    def _model(runner):
        from mmengine.model import is_model_wrapper

        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        if self.start is None:
            self.start = float(self._model(runner).momentum)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._model(runner).momentum = cosine_momentum(self.start, self.end, runner.iter,
                                                       runner.max_iters)
