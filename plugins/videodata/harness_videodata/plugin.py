"""Registers the video dataset layouts ``ucf101``, ``hmdb51``, ``kinetics400`` and
``videofolder``. Cheap to import: no torch or cv2 here; a layout module is imported only when a
run reads or generates its data."""
from harness import hookimpl
from harness.api import DatasetInfo


@hookimpl
def harness_register_datasets(register):
    register(DatasetInfo(
        name='ucf101', summary='UCF101: 101 action classes, 3 official train/test splits',
        modality='video', layout='harness_videodata.ucf101',
        layout_help='UCF-101/<Class>/v_*.avi and ucfTrainTestlist/ (classInd.txt, '
                    'trainlist0{1,2,3}.txt, testlist0{1,2,3}.txt)'))
    register(DatasetInfo(
        name='hmdb51', summary='HMDB51: 51 action classes, 3 official 70/30 splits',
        modality='video', layout='harness_videodata.hmdb51',
        layout_help='<class>/<video>.avi (or under videos/ or hmdb51_org/) and '
                    'testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt'))
    register(DatasetInfo(
        name='kinetics400', summary='Kinetics-400: 400 action classes, train/val as distributed '
                                    '(missing videos counted, not fatal)',
        modality='video', layout='harness_videodata.kinetics400',
        layout_help='{train,val}/<class>/<youtube_id>_<start:06d>_<end:06d>.mp4 (.mkv, .webm) '
                    'and annotations/{train,val}.csv '
                    '(label,youtube_id,time_start,time_end,split)'))
    register(DatasetInfo(
        name='videofolder', summary='a plain folder of unlabelled videos (pretraining only)',
        modality='video', layout='harness_videodata.videofolder',
        layout_help='videos (.avi .mp4 .mkv .webm .mov) at any depth under the root'))
