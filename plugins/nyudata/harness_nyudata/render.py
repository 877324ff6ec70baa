"""The demo renderer of the nyuv2 layout: one room seen by a pinhole camera, ray-cast per pixel
(vectorised numpy), so depth and surface normals are exact, not estimated.

Conventions (those of the normals of the layout, :mod:`harness_nyudata.nyuv2`):

- camera coordinates: x right, y down, z forward (the camera looks along +z); the camera is at
  the origin;
- pinhole intrinsics (:func:`intrinsics`): focal length ``f = width * 518.86 / 640`` pixels
  (NYU's Kinect ``fx`` scaled to the width), principal point at the image centre
  ``(width / 2, height / 2)``; pixel ``(u, v)`` (column, row, 0-based) sees the ray through
  its centre, ``((u + 0.5 - cx) / f, (v + 0.5 - cy) / f, 1)``;
- depth: the z coordinate of the point hit (as the Kinect and NYU's depth maps measure it, not
  the distance along the ray), in metres;
- normals: unit vectors in camera coordinates pointing towards the camera (``n . P < 0`` for
  the point ``P`` they belong to), so the floor's normal is ``(0, -1, 0)`` (up, y is down).

The scene: a box-shaped room, floor, ceiling and four walls (:data:`FACES`), the camera at a
random height above the floor, the walls at random distances, the camera turned by a random
yaw (about the vertical y axis; no pitch or roll, so the floor stays exactly ``(0, -1, 0)``);
1-3 axis-aligned boxes stand on the floor in front of the camera. RGB = albedo x surface
texture (plain, stripes or checker, drawn in the surface's own metric coordinates) x (ambient
+ Lambert ``max(0, n . l)`` for a random light direction ``l``), plus a little pixel noise, so
the shading carries the normal. Invalid pixels (``valid`` False; depth and normals 0 there, as
the real data has holes): a border band and 1-3 random elliptic blobs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: NYU's Kinect colour camera: fx = 518.86 pixels at 640 pixels width
FOCAL_RATIO = 518.8579 / 640.0

#: the faces of a box (room or object), by index: ``2 * axis + side``, side 0 the low
#: coordinate, 1 the high one (y is down: the floor is the room's high y face, a box's top its
#: low y face)
FACES = ('left', 'right', 'ceiling', 'floor', 'behind', 'ahead')
LEFT, RIGHT, CEILING, FLOOR, BEHIND, AHEAD = range(6)
#: the surface id of face ``f`` of object ``k`` (0 the room, k >= 1 the k-th box) is
#: ``6 * k + f``: one id per plane of the scene
OBJECT_FACES = 6


@dataclass(frozen=True)
class Room:
    """One rendered view. ``rgb`` uint8 [H, W, 3]; ``depth`` float32 metres [H, W], 0 where not
    ``valid``; ``normals`` float32 [H, W, 3], unit where valid, 0 elsewhere (camera
    coordinates, towards the camera); ``valid`` bool [H, W]; ``surface`` int16 [H, W], the
    plane each pixel sees (``6 * object + face``, see :data:`FACES`), valid or not;
    ``camera_height``: metres above the floor; ``yaw``: radians, positive turns right."""

    rgb: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    valid: np.ndarray
    surface: np.ndarray
    camera_height: float
    yaw: float


def intrinsics(width: int, height: int) -> tuple[float, float, float]:
    """``(f, cx, cy)`` of the demo camera for images of ``width`` x ``height`` pixels."""
    return width * FOCAL_RATIO, width / 2.0, height / 2.0


def rays(width: int, height: int) -> np.ndarray:
    """The ray of every pixel, float64 [H, W, 3], scaled to z = 1 (so a point at depth ``z`` on
    the ray of a pixel is ``z * ray``)."""
    f, cx, cy = intrinsics(width, height)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([(u + 0.5 - cx) / f, (v + 0.5 - cy) / f, np.ones_like(u)], axis=-1)


def backproject(depth: np.ndarray) -> np.ndarray:
    """The 3D points (camera coordinates, metres, float64 [H, W, 3]) of a demo depth map."""
    height, width = np.shape(depth)
    return np.asarray(depth, dtype=np.float64)[:, :, None] * rays(width, height)


def _nonzero(d: np.ndarray) -> np.ndarray:
    """``d`` with exact zeros moved to 1e-12, so the divisions below need no special case."""
    return np.where(d == 0.0, 1e-12, d)


def _room_exit(d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the rays ``d`` [N, 3] from the origin (inside the box ``lo``..``hi``) leave it:
    ``(t, face)``."""
    t_axis = np.where(d > 0, hi / d, lo / d)  # every entry > 0: the origin is inside
    axis = np.argmin(t_axis, axis=1)
    t = np.take_along_axis(t_axis, axis[:, None], axis=1)[:, 0]
    side = np.take_along_axis(d, axis[:, None], axis=1)[:, 0] > 0
    return t, 2 * axis + side


def _box_entry(d: np.ndarray, lo: np.ndarray, hi: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the rays ``d`` [N, 3] from the origin (outside the box) enter it (slab method):
    ``(hit, t, face)``."""
    t1, t2 = lo / d, hi / d
    near, far = np.minimum(t1, t2), np.maximum(t1, t2)
    axis = np.argmax(near, axis=1)
    t_near = np.take_along_axis(near, axis[:, None], axis=1)[:, 0]
    hit = (t_near <= far.min(axis=1)) & (t_near > 0)
    side = np.take_along_axis(d, axis[:, None], axis=1)[:, 0] < 0  # entering through the high face
    return hit, t_near, 2 * axis + side


def _texture(coords: np.ndarray, kind: np.ndarray, period: np.ndarray) -> np.ndarray:
    """1 on the dark parts of each pixel's surface pattern (0 plain, 1 stripes, 2 checker), in
    the surface's own metric coordinates ``coords`` [N, 2]."""
    a, b = coords[:, 0] / period, coords[:, 1] / period
    stripes = np.floor(a) % 2
    checker = (np.floor(a) + np.floor(b)) % 2
    return np.where(kind == 1, stripes, np.where(kind == 2, checker, 0.0))


def _holes(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """The valid mask: False on a border band and on 1-3 random elliptic blobs."""
    valid = np.ones((height, width), dtype=bool)
    band = max(1, round(0.03 * min(width, height)))
    valid[:band], valid[-band:], valid[:, :band], valid[:, -band:] = False, False, False, False
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    for _ in range(int(rng.integers(1, 4))):
        cu, cv = rng.uniform(0, width), rng.uniform(0, height)
        ru, rv = rng.uniform(0.03, 0.1, size=2) * width
        valid &= ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2 > 1.0
    return valid


def render_room(width: int, height: int, rng: np.random.Generator) -> Room:
    """Render one random room view of ``width`` x ``height`` pixels (see the module docstring);
    everything random is drawn from ``rng``."""
    camera_height = rng.uniform(1.1, 1.6)
    ceiling = rng.uniform(2.5, 3.0) - camera_height
    left, right, behind, ahead = rng.uniform(1.2, 3.0), rng.uniform(1.2, 3.0), \
        rng.uniform(0.5, 2.0), rng.uniform(3.0, 6.0)
    room_lo = np.array([-left, -ceiling, -behind])
    room_hi = np.array([right, camera_height, ahead])
    yaw = rng.uniform(-0.5, 0.5)
    boxes = []
    for _ in range(int(rng.integers(1, 4))):
        size = np.array([rng.uniform(0.4, 1.2), rng.uniform(0.4, 1.6), rng.uniform(0.4, 1.2)])
        x = rng.uniform(-left + size[0] / 2 + 0.05, right - size[0] / 2 - 0.05)
        z = rng.uniform(1.5 + size[2] / 2, ahead - size[2] / 2 - 0.05)
        boxes.append((np.array([x - size[0] / 2, camera_height - size[1], z - size[2] / 2]),
                      np.array([x + size[0] / 2, camera_height, z + size[2] / 2])))

    # world coordinates: the room's axes, y down, origin at the camera; camera = world turned
    # by the yaw about y, so a camera-frame ray d is R @ d in the world and a world normal n is
    # R.T @ n in the camera frame
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    cam_rays = rays(width, height).reshape(-1, 3)
    d = _nonzero(cam_rays @ rot.T)
    t, surface = _room_exit(d, room_lo, room_hi)
    for k, (lo, hi) in enumerate(boxes, start=1):
        hit, t_box, face = _box_entry(d, lo, hi)
        closer = hit & (t_box < t)
        t = np.where(closer, t_box, t)
        surface = np.where(closer, OBJECT_FACES * k + face, surface)
    face = surface % OBJECT_FACES
    axis, side = face // 2, face % 2
    # the room is seen from inside (its normals point inwards: towards its low face's +axis),
    # a box from outside (its normals point outwards); either way towards the camera
    inward = surface < OBJECT_FACES
    sign = np.where(inward, 1.0 - 2.0 * side, 2.0 * side - 1.0)
    n_world = np.zeros_like(d)
    n_world[np.arange(len(d)), axis] = sign
    normals = n_world @ rot  # rows: (R.T @ n).T = n.T @ R

    # shading: albedo per room face and per box, a pattern on the surface, ambient + Lambert
    objects = 1 + len(boxes)
    albedo = rng.uniform(60, 235, size=(6 + len(boxes), 3))
    colour = albedo[np.where(inward, face, 5 + surface // OBJECT_FACES)]
    kind = rng.integers(0, 3, size=OBJECT_FACES * objects)[surface]
    period = rng.uniform(0.2, 0.7, size=OBJECT_FACES * objects)[surface]
    contrast = rng.uniform(0.1, 0.3, size=OBJECT_FACES * objects)[surface]
    points = t[:, None] * d
    coords = np.stack([np.take_along_axis(points, ((axis + k) % 3)[:, None], axis=1)[:, 0]
                       for k in (1, 2)], axis=1)
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-1.0, -0.4), rng.uniform(-0.8, -0.1)])
    light /= np.linalg.norm(light)
    ambient = rng.uniform(0.25, 0.45)
    shade = ambient + (1.0 - ambient) * np.maximum(0.0, normals @ light)
    rgb = colour * (1.0 - contrast * _texture(coords, kind, period))[:, None] * shade[:, None]
    rgb = rgb.reshape(height, width, 3) + rng.normal(0.0, 3.0, size=(height, width, 3))

    valid = _holes(width, height, rng)
    depth = np.where(valid, t.reshape(height, width), 0.0).astype(np.float32)
    normals = np.where(valid[:, :, None], normals.reshape(height, width, 3), 0.0)
    return Room(rgb=np.clip(np.round(rgb), 0, 255).astype(np.uint8), depth=depth,
                normals=normals.astype(np.float32), valid=valid,
                surface=surface.reshape(height, width).astype(np.int16),
                camera_height=float(camera_height), yaw=float(yaw))
