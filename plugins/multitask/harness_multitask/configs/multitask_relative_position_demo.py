# Multi-task SSL, relative position alone (Doersch, Gupta, Efros 2015 as Doersch & Zisserman
# train it; docs/methods.md §6), demo size: the single-task row of the paper's comparison.
# Sampler, trunk, head and schedule as in multitask_demo.py: 20-px grey patches of a 3 x 3 grid
# with 8-px gaps and +-2 px jitter in the 80-px frame, 8-way cross-entropy.
_base_ = ['./multitask_demo.py']

model = dict(tasks=('relative_position',))

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleMultitask', frame_size=80,
         relative_position=dict(patch=20, gap=8, jitter=2)),
    dict(type='PackInputs'),
]))
