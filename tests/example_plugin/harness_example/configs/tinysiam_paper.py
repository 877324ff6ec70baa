# The example method at "paper" scale: 16 frames at 112 px, a longer schedule. A config in the
# same package inherits from its sibling with a relative _base_.
_base_ = ['./tinysiam_demo.py']

train_dataloader = dict(batch_size=32, dataset=dict(pipeline=[
    dict(type='SampleViews',
         views=dict(view1=dict(frames=16, stride=2, size=112),
                    view2=dict(frames=16, stride=2, size=112)),
         placement='independent'),
    dict(type='PackInputs'),
]))
train_cfg = dict(max_iters=10_000)
