"""Logging: mmengine's detailed log (environment dump included) goes to the run's log file;
the terminal gets warnings and the harness's own progress bars."""
from __future__ import annotations

import logging
from pathlib import Path

from mmengine.logging import MMLogger


def file_only_mm_logger(name: str, log_file: Path) -> MMLogger:
    """Create the MMLogger a Runner with ``experiment_name=name`` will pick up, logging INFO to
    ``log_file`` and only WARNING and above to the terminal."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logger = MMLogger.get_instance(name, logger_name='mmengine', log_file=str(log_file),
                                   log_level='INFO', file_mode='a')
    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.WARNING)
    return logger
