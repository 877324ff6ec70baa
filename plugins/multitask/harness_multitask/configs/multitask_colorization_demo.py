# Multi-task SSL, colorization alone (Zhang, Isola, Efros 2016 as Doersch & Zisserman train
# it; docs/methods.md §6), demo size: the single-task row of the paper's comparison. Sampler,
# trunk, head and schedule as in multitask_demo.py: the L channel of a random 64-px crop in,
# its ab bins (grid 10) on a 16 x 16 grid out, per-cell cross-entropy.
_base_ = ['./multitask_demo.py']

model = dict(tasks=('colorization',))

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleMultitask', frame_size=80,
         colorization=dict(size=64, target=16, grid=10.0, min_chroma=3.0)),
    dict(type='PackInputs'),
]))
