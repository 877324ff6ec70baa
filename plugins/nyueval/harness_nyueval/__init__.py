"""NYUv2 surface normals and depth for ssl-harness (docs/image-evals.md §4, docs/methods.md §6).
In progress, registers nothing yet: the metrics and losses (:mod:`.normals`, :mod:`.depth`)
and the dense network pieces (:mod:`.heads`) are built; the ``nyuv2`` evaluator is not."""
