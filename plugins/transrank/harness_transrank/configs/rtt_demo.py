# RTT (Jenni et al., ECCV 2020): speeds 1x-8x and periodic / random / warp as one CE
# over the union of the transformation labels (docs/methods.md §1, §7).
# A RecogTrans baseline of TransRank: same sampler and head, CE over transformation labels;
# its transformations in _base_/models/rtt.py.
_base_ = ['./_base_/models/rtt.py', './_base_/recogtrans_demo.py']

# the sampler of the demo scale drawing the method's transformations
train_dataloader = dict(dataset=dict(pipeline=[
    dict(_base_.train_dataloader.dataset.pipeline[0], **_base_._transformations),
    dict(type='PackInputs'),
]))
