# RTT (Jenni et al., ECCV 2020): speeds 1x-8x and periodic / random / warp as one CE
# over the union of the transformation labels (docs/methods.md §1, §7).
# A RecogTrans baseline of TransRank: same sampler and head, CE over transformation labels.
_base_ = ['./_base_/recogtrans_demo.py']

model = dict(num_temporal=7, rotation=False, loss='ce')
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleTransformedClips',
         temporal=['1x', '2x', '4x', '8x', 'periodic', 'random', 'warp'], frames=8, size=32,
         jitter=(0.8, 1.2), rotation=False, clips_per_video=2,
         augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
    dict(type='PackInputs'),
]))
