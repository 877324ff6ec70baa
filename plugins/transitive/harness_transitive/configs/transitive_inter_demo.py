# Transitive Invariance's ablation (docs/methods.md §4): the demo's second stage trained on the
# inter-instance pairs alone (stage 1, on the intra pairs, still provides the features that
# are clustered).
_base_ = ['./transitive_demo.py']

train_dataloader = dict(dataset=dict(pairs='inter'))
