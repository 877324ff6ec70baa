# Pace prediction (Wang et al., ECCV 2020): pace class CE (contrastive term not included).
# A RecogTrans baseline of TransRank: same sampler and head, CE over transformation labels.
_base_ = ['./_base_/recogtrans_demo.py']

model = dict(num_temporal=5, rotation=False, loss='ce')
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleTransformedClips', temporal=['1x', '2x', '3x', '4x', '5x'], frames=8, size=32,
         jitter=(0.8, 1.2), rotation=False, clips_per_video=2,
         augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
    dict(type='PackInputs'),
]))
