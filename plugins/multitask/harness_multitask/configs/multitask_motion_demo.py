# Multi-task SSL, motion segmentation alone (Pathak et al. 2017 as Doersch & Zisserman train
# it; docs/methods.md §6), demo size: the single-task row of the paper's comparison. Sampler,
# trunk, head and schedule as in multitask_demo.py: a random 64-px crop of a frame in, its
# moving pixels (Farneback flow to the next frame, more than 1 px against the frame's median
# flow; Pathak et al. used uNLC segmentations) on a 16 x 16 grid out, sigmoid cross-entropy.
_base_ = ['./multitask_demo.py']

model = dict(tasks=('motion',))

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleMultitask', frame_size=80,
         motion=dict(size=64, target=16, gap=1, threshold=1.0)),
    dict(type='PackInputs'),
]))
