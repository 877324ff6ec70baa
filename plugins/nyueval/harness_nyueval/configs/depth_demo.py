# Depth, demo sizes: depth_paper.py at the demo's scale (_base_/dense_demo.py).
_base_ = ['./_base_/dense_demo.py']

task = 'depth'
model = dict(freeze_backbone=False)
