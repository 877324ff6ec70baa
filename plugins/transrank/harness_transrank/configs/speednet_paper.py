# SpeedNet at paper scale: the demo config's transformations and loss, 16 frames x 112 px,
# the schedule of _base_/recogtrans_paper.py.
_base_ = ['./_base_/recogtrans_paper.py']

model = dict(num_temporal=2, rotation=False, loss='ce')
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleTransformedClips', temporal=['1x', '2x'], frames=16, size=112,
         jitter=(0.8, 1.2), rotation=False, clips_per_video=2,
         augment=dict(scale=(0.5, 1.0), color=0.8, grayscale=0.2)),
    dict(type='PackInputs'),
]))
