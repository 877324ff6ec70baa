# Transitive Invariance's ablation (docs/methods.md §4): the demo trained on the intra-instance
# pairs alone (Wang & Gupta 2015's objective; no inter-instance edges, no transitivity).
_base_ = ['./transitive_demo.py']

train_dataloader = dict(dataset=dict(pairs='intra'))
