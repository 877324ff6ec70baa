# 3D-RotNet (Jing & Tian, 2018): 4-way rotation of the whole clip, CE.
# A RecogTrans baseline of TransRank: same sampler and head, CE over transformation labels.
_base_ = ['./_base_/recogtrans_demo.py']

model = dict(num_temporal=0, rotation=True, loss='ce')
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleTransformedClips', temporal=['1x'], frames=8, size=32,
         jitter=(0.8, 1.2), rotation=True, clips_per_video=1,
         augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
    dict(type='PackInputs'),
]))
