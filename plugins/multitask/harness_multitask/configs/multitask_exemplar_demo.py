# Multi-task SSL, exemplar alone (Dosovitskiy et al. 2014 with the triplet loss Doersch &
# Zisserman train it with; docs/methods.md §6), demo size: the single-task row of the paper's
# comparison. Sampler, trunk, head and schedule as in multitask_demo.py: two heavily augmented
# 56-px views of one random 64-px crop, triplet loss with margin 0.5 against the other crops.
_base_ = ['./multitask_demo.py']

model = dict(tasks=('exemplar',))

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleMultitask', frame_size=80,
         exemplar=dict(crop=64, view=dict(size=56, augment=dict(
             scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5, color=1.0,
             jitter=(0.4, 0.4, 0.4, 0.1), grayscale=0.2, blur=0.5)))),
    dict(type='PackInputs'),
]))
