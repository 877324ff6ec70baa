"""The dense network: the pyramid pooling head's shapes and training, and the dilated ResNets
(output stride 8, the same parameters under the same names, and the same outputs as the
undilated network at the undilated network's positions)."""
from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torchvision import models as tv_models

from harness.registry import MODELS
from harness_nyueval.heads import DilatedBackbone, PyramidPoolingHead, dilate_resnet
from harness_nyueval.normals import classification_loss, cosine_loss

importlib.import_module('harness_backbones.image')  # registers the harness image backbones

torch.set_num_threads(1)


# ---------------------------------------------------------------------- PyramidPoolingHead


def test_head_shapes_and_layout():
    head = MODELS.build(dict(type='harness.PyramidPoolingHead', in_channels=16,
                             out_channels=40, channels=32))
    assert isinstance(head, PyramidPoolingHead)
    features = torch.randn(2, 16, 9, 11)

    out = head(features)

    assert out.shape == (2, 40, 9, 11)
    assert torch.equal(head.eval()(features), head([torch.randn(2, 3, 5, 5), features]))
    assert [branch[0].output_size for branch in head.ppm] == [1, 2, 3, 6]
    assert [branch[1].in_channels for branch in head.ppm] == [16] * 4
    assert head.conv_last[0].in_channels == 16 + 4 * 32
    assert head.conv_last[0].kernel_size == (3, 3)
    assert isinstance(head.conv_last[3], nn.Dropout2d) and head.conv_last[3].p == 0.1
    assert head.conv_last[4].out_channels == 40
    assert PyramidPoolingHead(8, 3, channels=4, pool_scales=(1, 2)).conv_last[0].in_channels \
        == 8 + 2 * 4


def toy_features(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(4, 8, 8, 8, generator=generator)


def train(head, loss_fn, steps=40):
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    head.train()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(head)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_head_learns_a_classification_target():
    torch.manual_seed(0)
    features = toy_features()
    labels = features[:, :5].argmax(dim=1)  # a class per pixel the features determine
    labels[:, 0, :] = 255  # an ignored row
    head = PyramidPoolingHead(8, 5, channels=16)

    losses = train(head, lambda h: classification_loss(h(features), labels))

    assert losses[-1] < 0.3 * losses[0]


def test_head_learns_a_normals_target():
    torch.manual_seed(0)
    features = toy_features(1)
    target = F.normalize(features[:, :3], dim=1).permute(0, 2, 3, 1)
    valid = torch.ones(4, 8, 8, dtype=torch.bool)
    head = PyramidPoolingHead(8, 3, channels=16)

    losses = train(head, lambda h: cosine_loss(h(features).permute(0, 2, 3, 1), target, valid))

    assert losses[-1] < 0.3 * losses[0]


# ---------------------------------------------------------------------------- DilatedBackbone

BACKBONES = [('harness.ResNet18', 512), ('harness.ResNet50', 2048),
             ('harness.ResNet18Slim', 128)]


def shapes(module):
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


@pytest.mark.parametrize('name, channels', BACKBONES)
def test_dilated_resnet_has_stride_8_and_the_same_outputs_where_both_have_them(name, channels):
    torch.manual_seed(0)
    plain = MODELS.build(dict(type=name)).eval()
    dilated = MODELS.build(dict(type='harness.DilatedBackbone', backbone=dict(type=name))).eval()
    assert isinstance(dilated, DilatedBackbone)
    # same keys and shapes: the plain network's weights load by key, strictly
    assert shapes(dilated.backbone) == shapes(plain)
    dilated.backbone.load_state_dict(plain.state_dict(), strict=True)
    images = torch.randn(2, 3, 64, 64)

    with torch.no_grad():
        coarse, fine = plain(images), dilated(images)

    assert coarse.shape == (2, channels, 2, 2)
    assert fine.shape == (2, channels, 8, 8)
    # a trous: the dilated network's output, sampled every 4 pixels, is the plain one's
    scale = coarse.abs().max()
    assert torch.allclose(fine[..., ::4, ::4], coarse, rtol=0, atol=1e-4 * scale)
    assert not torch.allclose(fine[..., 1::4, ::4], coarse, rtol=0, atol=1e-2 * scale)


@pytest.mark.parametrize('builder', [tv_models.resnet18, tv_models.resnet50])
def test_dilate_resnet_in_place_on_torchvision_resnets(builder):
    net = builder(weights=None).eval()
    before = {key: (value.data_ptr(), value.clone()) for key, value in net.state_dict().items()}
    trunk = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2,
                          net.layer3, net.layer4)
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        coarse = trunk(images)

    assert dilate_resnet(net) is net

    with torch.no_grad():
        fine = trunk(images)
    assert fine.shape[-2:] == (8, 8) and coarse.shape[-2:] == (2, 2)
    assert torch.allclose(fine[..., ::4, ::4], coarse, rtol=0, atol=1e-4 * coarse.abs().max())
    after = net.state_dict()
    assert list(after) == list(before)
    for key, (pointer, value) in before.items():  # the same tensors, untouched
        assert after[key].data_ptr() == pointer and torch.equal(after[key], value)
    # PSPNet's rule: the formerly strided 3x3 conv reads the previous grid, the rest the new one
    first3, first4 = net.layer3[0], net.layer4[0]
    strided3 = first3.conv2 if hasattr(first3, 'conv3') else first3.conv1
    strided4 = first4.conv2 if hasattr(first4, 'conv3') else first4.conv1
    assert strided3.dilation == (1, 1) and strided4.dilation == (2, 2)
    assert net.layer3[1].conv2.dilation == (2, 2) and net.layer4[1].conv2.dilation == (4, 4)
    assert first3.downsample[0].stride == (1, 1) and first4.downsample[0].stride == (1, 1)


def test_output_stride_16_dilates_layer4_only():
    torch.manual_seed(0)
    plain = MODELS.build(dict(type='harness.ResNet18')).eval()
    dilated = DilatedBackbone(dict(type='harness.ResNet18'), output_stride=16).eval()
    dilated.backbone.load_state_dict(plain.state_dict())
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        coarse, fine = plain(images), dilated(images)
    assert fine.shape[-2:] == (4, 4)
    assert torch.allclose(fine[..., ::2, ::2], coarse, rtol=0, atol=1e-4 * coarse.abs().max())
    assert dilated.backbone.layer3[0].conv1.stride == (2, 2)


@pytest.mark.parametrize('name', ['harness.ResNet18', 'harness.ResNet18Slim'])
def test_a_resnet_cut_after_layer3_is_dilated_to_stride_8_at_layer3(name):
    """A backbone cut after layer3 (``out_stage``, a pretraining that trains no layer4): its
    layer3 dilated 2 gives stride 8, and every second position is the undilated layer3's."""
    torch.manual_seed(0)
    plain = MODELS.build(dict(type=name, out_stage='layer3')).eval()
    dilated = DilatedBackbone(dict(type=name, out_stage='layer3')).eval()
    dilated.backbone.load_state_dict(plain.state_dict(), strict=True)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        coarse, fine = plain(images), dilated(images)
    channels = 256 if name == 'harness.ResNet18' else 64
    assert coarse.shape == (2, channels, 4, 4) and fine.shape == (2, channels, 8, 8)
    scale = coarse.abs().max()
    assert torch.allclose(fine[..., ::2, ::2], coarse, rtol=0, atol=1e-4 * scale)
    assert not torch.allclose(fine[..., 1::2, ::2], coarse, rtol=0, atol=1e-2 * scale)


def test_dilate_resnet_refuses_what_it_cannot_dilate():
    net = tv_models.resnet18(weights=None)
    dilate_resnet(net)
    with pytest.raises(ValueError, match='already dilated'):
        dilate_resnet(net)
    with pytest.raises(TypeError, match='not a ResNet'):
        dilate_resnet(MODELS.build(dict(type='harness.VGG16')))
    with pytest.raises(ValueError, match='output_stride'):
        dilate_resnet(tv_models.resnet18(weights=None), output_stride=32)
    odd = tv_models.resnet18(weights=None)
    odd.layer4[1].conv1.padding = (0, 0)
    with pytest.raises(TypeError, match='does not expect'):
        dilate_resnet(odd)
    assert odd.layer3[0].conv1.stride == (2, 2)  # checked before anything changed
    from mmdet.models.backbones import ResNet as MMDetResNet
    with pytest.raises(TypeError, match='AvgPool2d'):
        dilate_resnet(MMDetResNet(depth=18, avg_down=True))


def test_ssl_weights_load_into_the_dilated_backbone_by_key(tmp_path):
    torch.manual_seed(0)
    source = MODELS.build(dict(type='harness.ResNet18'))
    checkpoint = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), checkpoint)
    dilated = DilatedBackbone(dict(type='harness.ResNet18', init_cfg=dict(
        type='harness.SSLPretrained', checkpoint=str(checkpoint))))

    dilated.init_weights()

    report = dilated.weight_load_report
    assert report['loaded'] == report['total'] == len(source.state_dict())
    assert not report['missing'] and not report['unexpected']
    for key, value in source.state_dict().items():
        assert torch.equal(dilated.backbone.state_dict()[key], value), key


def test_vgg16_dilated_to_stride_8_keeps_its_weights_and_names():
    """DeepLab's VGG-16: pool4 and pool5 gone, conv5 dilated 2; a 64-pixel input gives an
    8 x 8 map, the state dict is the undilated one's, and conv1-conv4 compute what they did."""
    torch.manual_seed(0)
    plain = MODELS.build(dict(type='harness.VGG16')).eval()
    dilated = DilatedBackbone(dict(type='harness.VGG16')).eval()
    dilated.backbone.load_state_dict(plain.state_dict())
    assert plain.state_dict().keys() == dilated.backbone.state_dict().keys()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert dilated(x).shape == (1, 512, 8, 8)
        assert torch.allclose(dilated.backbone.features[:23](x), plain.features[:23](x))
