"""Running mmengine: the Runner the harness uses for every training it starts.

Training, checkpointing, resume, logging and distributed launch are mmengine's Runner; this
module only sets up what the harness needs around it: the config's modules imported, resume
checkpoints loadable under torch >= 2.6, and mmengine's log (environment dump included) in the
log file while the terminal shows warnings and the progress bar.
"""
from __future__ import annotations

import importlib
import logging
import shutil
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

from harness.errors import HarnessError
from harness.registry import RUNNERS


def quiet_terminal(logger: logging.Logger) -> logging.Logger:
    """Let only warnings and errors of ``logger`` reach the terminal (files keep INFO)."""
    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.WARNING)
    return logger


def file_logger(name: str, log_file: Path):
    """An mmengine logger, made the current one, writing INFO to ``log_file`` and only
    warnings to the terminal (for work the harness runs outside a Runner)."""
    from mmengine.logging import MMLogger

    log_file.parent.mkdir(parents=True, exist_ok=True)
    return quiet_terminal(MMLogger.get_instance(name, log_file=str(log_file), log_level='INFO'))


@RUNNERS.register_module()
class HarnessRunner(Runner):
    """mmengine's Runner; INFO logging goes to the log file only."""

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        return quiet_terminal(super().build_logger(log_level=log_level, log_file=log_file,
                                                   **kwargs))


def import_config_modules(cfg: Config) -> None:
    """Import ``cfg.custom_imports`` (``Config.fromfile`` does only for the file's own)."""
    for module in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(module)


def build_runner(cfg: Config) -> HarnessRunner:
    """A HarnessRunner for ``cfg``, with its modules imported and resume made loadable."""
    from harness.compat import allow_mmengine_checkpoints

    allow_mmengine_checkpoints()
    import_config_modules(cfg)
    return HarnessRunner.from_cfg(cfg)


def has_checkpoint(work_dir: Path) -> bool:
    """Whether mmengine left a checkpoint to resume from in ``work_dir``."""
    return (work_dir / 'last_checkpoint').is_file()


def prepare_work_dir(work_dir: Path, *, resume: bool, finished: bool, what: str) -> None:
    """Make ``work_dir`` ready for a run without losing anything the user may want.

    With ``resume`` the directory is kept (mmengine resumes from its last checkpoint). A
    ``finished`` run's directory is cleared to run again. An unfinished run with a checkpoint is
    never deleted silently: that is an error asking for ``--resume`` (or deleting it by hand).
    """
    if work_dir.exists() and not resume:
        if not finished and has_checkpoint(work_dir):
            raise HarnessError(f'an unfinished {what} with checkpoints is in {work_dir}: '
                               f'add --resume to continue it, or delete that folder to start over')
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
