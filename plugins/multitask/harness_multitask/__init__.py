"""Multi-task self-supervised learning for ssl-harness (Doersch & Zisserman, ICCV 2017;
docs/methods.md §6): relative position, colorization, exemplar and motion segmentation heads
on one ResNet trunk, with harmonised inputs and the lasso as options.

Modules: :mod:`.losses` (the four losses, pure functions), :mod:`.lasso` (the layer
combination and its L1 penalty), :mod:`.colour` (ab bins and L), :mod:`.patches` (relative
position's grid), :mod:`.motion` (moving-pixel masks from optical flow), :mod:`.sampling`
(the ``SampleMultitask`` transform), :mod:`.trunk`, :mod:`.heads`, :mod:`.model` (the
``MultiTask`` model) and :mod:`.plugin` (the registration)."""
