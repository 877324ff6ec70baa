# 3D-RotNet (Jing & Tian, 2018): 4-way rotation of the whole clip, CE.
# A RecogTrans baseline of TransRank: same sampler and head, CE over transformation labels;
# its transformations in _base_/models/rotnet3d.py.
_base_ = ['./_base_/models/rotnet3d.py', './_base_/recogtrans_demo.py']

# the sampler of the demo scale drawing the method's transformations
train_dataloader = dict(dataset=dict(pipeline=[
    dict(_base_.train_dataloader.dataset.pipeline[0], **_base_._transformations),
    dict(type='PackInputs'),
]))
