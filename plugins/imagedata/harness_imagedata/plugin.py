"""Registers the image dataset layout ``imagenet``. Cheap to import: no torch or cv2 here; the
layout module is imported only when a run reads or generates its data."""
from harness import hookimpl
from harness.api import DatasetInfo


@hookimpl
def harness_register_datasets(register):
    register(DatasetInfo(
        name='imagenet', summary='an ImageNet-style image folder: train/ and val/ class folders',
        modality='image', layout='harness_imagedata.imagenet',
        layout_help='train/<class>/*.JPEG and val/<class>/* (.jpg .jpeg .png .bmp .webp, any '
                    'case); the classes are the folders of train/'))
