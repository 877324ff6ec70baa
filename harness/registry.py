"""mmengine registries with scope ``harness``.

They are children of mmengine's root registries, so a config with ``default_scope='mmaction'``
(or ``'mmdet'``) can build ``type='harness.R3D18'``, and a config with ``default_scope='harness'``
can build ``type='mmaction.Recognizer3D'``. The core never imports mmaction2 or mmdet.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'harness'

MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE)
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope=SCOPE,
                    locations=['harness.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE,
                      locations=['harness.data.views'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE, locations=['harness.hooks'])
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS,
                               scope=SCOPE, locations=['harness.weights'])
