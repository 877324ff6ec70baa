"""Transitive Invariance for ssl-harness (docs/methods.md §4). In progress, registers nothing
yet: the triplet ranking loss (:mod:`.losses`) and the transitive graph (:mod:`.graph`) are
built; the patch mining from videos and the method plugin are not."""
