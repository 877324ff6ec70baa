# Pace prediction at paper scale: the transformations and loss of _base_/models/pace.py,
# 16 frames x 112 px and the schedule of _base_/recogtrans_paper.py.
_base_ = ['./_base_/models/pace.py', './_base_/recogtrans_paper.py']

# the sampler of the paper scale drawing the method's transformations
train_dataloader = dict(dataset=dict(pipeline=[
    dict(_base_.train_dataloader.dataset.pipeline[0], **_base_._transformations),
    dict(type='PackInputs'),
]))
