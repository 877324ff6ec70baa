# RTT (Jenni et al., ECCV 2020): speeds 1x-8x and periodic / random / warp as one CE
# over the union of the transformation labels (specs/methods.md §7).
# A RecogTrans baseline of TransRank: same sampler and head, CE over transformation labels.
_base_ = ['../_base_/recogtrans_demo.py']

temporal = ['1x', '2x', '4x', '8x', 'periodic', 'random', 'warp']
model = dict(num_temporal=len(temporal), rotation=False, loss='ce')
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleTransformedClips', temporal=temporal, frames=8, size=32, jitter=(0.8, 1.2),
         rotation=False, clips_per_video=2, augment={{_base_.clip_augment}}),
    dict(type='PackInputs'),
]))
