"""Registers the detection dataset layouts ``voc07`` and ``coco``. Cheap to import: no torch or
cv2 here; a layout module is imported only when a run reads or generates its data."""
from harness import hookimpl
from harness.api import DatasetInfo


@hookimpl
def harness_register_datasets(register):
    register(DatasetInfo(
        name='voc07', summary='PASCAL VOC 2007 detection: train on trainval, test on test',
        modality='image', layout='harness_detdata.voc07',
        layout_help='VOCdevkit/VOC2007/{JPEGImages/*.jpg,Annotations/*.xml,'
                    'ImageSets/Main/{trainval,test}.txt} under ROOT (or ROOT = VOCdevkit)'))
    register(DatasetInfo(
        name='coco', summary='COCO 2017 detection: train on train2017, test on val2017',
        modality='image', layout='harness_detdata.coco',
        layout_help='annotations/instances_{train,val}2017.json, train2017/ and val2017/ '
                    'image folders'))
