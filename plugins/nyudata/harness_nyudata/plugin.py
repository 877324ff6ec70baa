"""Registers the dataset layout ``nyuv2``. Cheap to import: no torch, cv2, scipy or h5py here;
the layout module is imported only when a run reads, converts or generates its data."""
from harness import hookimpl
from harness.api import DatasetInfo


@hookimpl
def harness_register_datasets(register):
    register(DatasetInfo(
        name='nyuv2', summary='NYU Depth v2 surface normals and depth: train on 795 images, '
                              'test on 654 (the official split)',
        modality='image', layout='harness_nyudata.nyuv2',
        layout_help='images/<id:06d>_rgb.jpg, depth/<id:06d>_depth.png (uint16 mm, 0 invalid), '
                    'normals/nm_<id:06d>.mat (nx ny nz depthValid), splits/{train,test}list.txt '
                    '(1-based ids), SOURCE.txt (ladicky, fouhey or depth), optional '
                    "vocab40.mat; 'harness data prepare nyuv2' converts "
                    'nyu_depth_v2_labeled.mat + splits.mat into it'))
