"""Transitive Invariance for ssl-harness (docs/methods.md §4). In progress, registers nothing
yet: the triplet ranking loss (:mod:`.losses`), the graph with its inter-instance edges
(:mod:`.graph`) and the intra-instance tracks mined from videos (:mod:`.mining`) are built; the
mining stage with its patch cache and the method plugin are not."""
