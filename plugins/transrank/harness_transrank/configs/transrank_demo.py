# TransRank pretraining, demo schedule. Paper (docs/methods.md §1, §8): K = 3 temporal
# transformations {1x, 2x, 4x} (or {1x, 2x, reverse}), 4-way rotation, margin 1, speed jitter
# U(0.8, 1.2), clip-wise augmentation, MLP head (512 hidden), 16 x 112 px. Demo: 8 x 32 px.
# The aspect-ratio family is off by default; to add it (one more ranked score matrix):
#   --cfg-options model.num_aspect=3 "train_dataloader.dataset.pipeline.0.aspect=(0.5,1.0,2.0)"
_base_ = ['./_base_/models/transrank.py', './_base_/recogtrans_demo.py']

# the sampler of the demo scale drawing the method's transformations
train_dataloader = dict(dataset=dict(pipeline=[
    dict(_base_.train_dataloader.dataset.pipeline[0], **_base_._transformations),
    dict(type='PackInputs'),
]))
