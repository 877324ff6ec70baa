# Multi-task SSL's lasso (Doersch & Zisserman, ICCV 2017; docs/methods.md §6), demo size: the
# joint network of multitask_demo.py (four tasks, same sampler and schedule), but each task's
# head reads its own linear combination of the outputs of layer2, layer3 and layer4 (each
# brought to 128 channels by a 1 x 1 convolution and a BN without affine parameters, and to
# layer4's size by average pooling); the combination weights start on layer4 only and carry
# an L1 penalty of 0.01 * sum |w|, reported as loss_lasso, so each task picks its stages.
# The paper's penalty strength and which stages it combined are not in docs/methods.md.
_base_ = ['./multitask_demo.py']

model = dict(
    layers=('layer2', 'layer3', 'layer4'),
    lasso=True,
    lasso_strength=0.01,
    lasso_init='last',
)
