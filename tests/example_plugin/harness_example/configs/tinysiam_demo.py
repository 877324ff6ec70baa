# The example method's demo pretraining: two clips of 8 frames at 32 px per video.
# A complete mmengine config: it runs under plain mmengine too once the data is set.
default_scope = 'harness'
custom_imports = dict(imports=['harness_example.tinysiam', 'harness_example.tiny3d'],
                      allow_failed_imports=False)

model = dict(type='TinySiam',
             data_preprocessor=dict(type='harness.AugmentViews'),
             backbone=dict(type='harness.Tiny3D'), feat_dim=32, hidden_dim=64)

train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    # iteration-based training: one endless shuffled stream, no restart at epoch ends, each
    # item augmented under its own seed (the same batches whatever num_workers)
    sampler=dict(type='SeededInfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='VideoListDataset', data_root=None, ann_file=None, pipeline=[
        dict(type='SampleViews',
             views=dict(view1=dict(frames=8, stride=2, size=32),
                        view2=dict(frames=8, stride=2, size=32)),
             placement='independent'),
        dict(type='PackInputs'),
    ]))

train_cfg = dict(type='IterBasedTrainLoop', max_iters=20)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-2))
