"""Config helpers: loading, ``--cfg-options`` routing and the config hash."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from mmengine.config import Config

#: Keys that say where or how a run happens, not what it computes: left out of the hash.
UNHASHED_KEYS = ('work_dir', 'launcher', 'resume', 'load_from', 'experiment_name')


def config_sha256(cfg: Config) -> str:
    """sha256 of the merged config's content (sorted JSON), without :data:`UNHASHED_KEYS`."""
    data = {k: v for k, v in cfg.to_dict().items() if k not in UNHASHED_KEYS}
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def split_cfg_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--cfg-options`` for (pretraining, evaluation): keys starting with ``eval.`` go to the
    evaluation config (prefix removed), the rest to the pretraining config."""
    pretrain, evaluation = {}, {}
    for key, value in options.items():
        if key.startswith('eval.'):
            evaluation[key[len('eval.'):]] = value
        else:
            pretrain[key] = value
    return pretrain, evaluation


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()
