"""Transitive Invariance for ssl-harness (docs/methods.md §4). In progress, registers nothing
yet: the triplet ranking loss (:mod:`.losses`), the transitive graph (:mod:`.graph`) and the
intra-instance tracks mined from videos (:mod:`.mining`) are built; the inter-instance edges
(clusters of first-stage features), the patch cache and the method plugin are not."""
