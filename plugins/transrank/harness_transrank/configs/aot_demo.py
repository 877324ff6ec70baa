# Arrow of Time (Wei et al., CVPR 2018): forward vs reversed playback, binary CE.
# A RecogTrans baseline of TransRank: same sampler and head, CE over transformation labels;
# its transformations in _base_/models/aot.py.
_base_ = ['./_base_/models/aot.py', './_base_/recogtrans_demo.py']

# the sampler of the demo scale drawing the method's transformations
train_dataloader = dict(dataset=dict(pipeline=[
    dict(_base_.train_dataloader.dataset.pipeline[0], **_base_._transformations),
    dict(type='PackInputs'),
]))
