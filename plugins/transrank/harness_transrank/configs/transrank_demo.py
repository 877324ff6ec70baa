# TransRank pretraining, demo schedule. Paper (docs/methods.md §1, §8): K = 3 temporal
# transformations {1x, 2x, 4x} (or {1x, 2x, reverse}), 4-way rotation, margin 1, speed jitter
# U(0.8, 1.2), clip-wise augmentation, MLP head (512 hidden), 16 x 112 px. Demo: 8 x 32 px.
# The aspect-ratio family is off by default; to add it (one more ranked score matrix):
#   --cfg-options model.num_aspect=3 "train_dataloader.dataset.pipeline.0.aspect=(0.5,1.0,2.0)"
_base_ = ['./_base_/recogtrans_demo.py']

model = dict(num_temporal=3, rotation=True, loss='rank')
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleTransformedClips', temporal=['1x', '2x', '4x'], frames=8, size=32,
         jitter=(0.8, 1.2), rotation=True, clips_per_video=None,
         augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
    dict(type='PackInputs'),
]))
