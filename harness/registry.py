"""mmengine registries with scope ``harness``: one child of each mmengine root registry.

Being children of mmengine's roots, a config with ``default_scope='mmaction'`` (or ``'mmdet'``)
can build ``type='harness.R3D18'``, and a config with ``default_scope='harness'`` can build
``type='mmaction.Recognizer3D'``; with default scope ``harness`` everything mmengine itself
provides (loops, optimizers, hooks, ...) is found through the parent. The core never imports
mmaction2 or mmdet.
"""
from mmengine import registry as mm
from mmengine.registry import Registry

SCOPE = 'harness'

MODELS = Registry('model', parent=mm.MODELS, scope=SCOPE)
DATASETS = Registry('dataset', parent=mm.DATASETS, scope=SCOPE, locations=['harness.data.listdata'])
TRANSFORMS = Registry('transform', parent=mm.TRANSFORMS, scope=SCOPE,
                      locations=['harness.data.views', 'harness.data.images'])
HOOKS = Registry('hook', parent=mm.HOOKS, scope=SCOPE, locations=['harness.hooks'])
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=mm.WEIGHT_INITIALIZERS, scope=SCOPE,
                               locations=['harness.weights'])
RUNNERS = Registry('runner', parent=mm.RUNNERS, scope=SCOPE, locations=['harness.engine'])

# The rest only make the scope complete (mmengine warns about a scope missing a registry).
DATA_SAMPLERS = Registry('data sampler', parent=mm.DATA_SAMPLERS, scope=SCOPE)
FUNCTIONS = Registry('function', parent=mm.FUNCTIONS, scope=SCOPE)
LOOPS = Registry('loop', parent=mm.LOOPS, scope=SCOPE)
LOG_PROCESSORS = Registry('log_processor', parent=mm.LOG_PROCESSORS, scope=SCOPE)
OPTIMIZERS = Registry('optimizer', parent=mm.OPTIMIZERS, scope=SCOPE)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=mm.OPTIM_WRAPPERS, scope=SCOPE)
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor',
                                      parent=mm.OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE)
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=mm.PARAM_SCHEDULERS, scope=SCOPE)
METRICS = Registry('metric', parent=mm.METRICS, scope=SCOPE)
EVALUATOR = Registry('evaluator', parent=mm.EVALUATOR, scope=SCOPE)
MODEL_WRAPPERS = Registry('model_wrapper', parent=mm.MODEL_WRAPPERS, scope=SCOPE)
VISBACKENDS = Registry('vis_backend', parent=mm.VISBACKENDS, scope=SCOPE)
VISUALIZERS = Registry('visualizer', parent=mm.VISUALIZERS, scope=SCOPE)
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=mm.RUNNER_CONSTRUCTORS, scope=SCOPE)
TASK_UTILS = Registry('task util', parent=mm.TASK_UTILS, scope=SCOPE)
INFERENCERS = Registry('inferencer', parent=mm.INFERENCERS, scope=SCOPE)
STRATEGIES = Registry('strategy', parent=mm.STRATEGIES, scope=SCOPE)
