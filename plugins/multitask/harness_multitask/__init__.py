"""Multi-task self-supervised learning for ssl-harness (docs/methods.md §6). In progress,
registers nothing yet: the four tasks' losses and the lasso layer combination
(:mod:`.losses`, :mod:`.lasso`) and the colorization targets (:mod:`.colour`) are built; the
task samplers, heads and the method plugin are not."""
