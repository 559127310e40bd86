"""A stand-in for a pool of generated images: elastic and affine distortions of real training images.

No diffusion model runs here, so the generated pool of the papers' experiments is stood in for by images made from the
real training images, with the property that matters to the pruning methods: their quality varies, from close to a real
image through ambiguous to wrongly labelled. It is the construction behind the 8.1M-image "infinite MNIST" set (Loosli,
Canu and Bottou, 2007): each image is a real training image (never a validation image) under

- an elastic deformation (Simard et al., 2003): a random displacement field, smoothed by a Gaussian of width `sigma`
  and scaled by `alpha`;
- an affine map: rotation, scale, shear and translation;
- additive pixel noise;

whose strength is drawn per image from a spread, uniform in [0, 1], so that some images are near copies and others are
barely digits; and a fraction (`--flip`, default 10 %) whose label is replaced by another class at random.

The `.npz` is in the generated-set format (`image` uint8 (N, 28, 28) or (N, H, W, C), `label` int64), stored
uncompressed so that it is memory-mapped, with three more arrays that say what each image is: `source` (the id of the
real training image it was made from), `strength` (in [0, 1]) and `flipped` (whether its label was changed). Seeded:
the same arguments give the same file.

    python bench/make_pool.py [--data npz:../shared/data/mnist/mnist_train.npz] [--valid 2435] [--n 300000]
                              [--flip 0.1] [--seed 0] [--out runs/pool/mnist_pool.npz]
"""
import argparse, time
from pathlib import Path
import numpy as np
from scipy import ndimage
from robust_prune.core import atomic_path
from robust_prune.data import load_splits

def distort(images:np.ndarray, strength:np.ndarray, rng:np.random.Generator):
    "`images` (B, H, W) float in [0, 1], each elastically and affinely distorted by its `strength` in [0, 1]"
    b, h, w = images.shape
    s = strength[:, None, None]
    # elastic: a smoothed random field of displacements, up to `alpha` pixels where the field is strongest
    field = rng.uniform(-1, 1, (2, b, h, w))
    field = ndimage.gaussian_filter(field, sigma=(0, 0, 4, 4), mode='constant')
    field /= np.abs(field).max(axis=(2, 3), keepdims=True) + 1e-8
    dy, dx = 4.0 * s * field[0], 4.0 * s * field[1]
    # affine: rotation up to 30 degrees, scale 0.8..1.2, shear up to 0.3, translation up to 3 pixels, all times strength
    angle = np.deg2rad(30) * s[:, 0, 0] * rng.uniform(-1, 1, b)
    scale = 1 + 0.2 * s[:, 0, 0] * rng.uniform(-1, 1, b)
    shear = 0.3 * s[:, 0, 0] * rng.uniform(-1, 1, b)
    ty, tx = (3 * s[:, 0, 0] * rng.uniform(-1, 1, (2, b)))
    yy, xx = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing='ij')
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    ys = (cos * yy + (sin + shear[:, None, None]) * xx) / scale[:, None, None] + (h - 1) / 2 + ty[:, None, None] + dy
    xs = (-sin * yy + cos * xx) / scale[:, None, None] + (w - 1) / 2 + tx[:, None, None] + dx
    zs = np.broadcast_to(np.arange(b)[:, None, None], (b, h, w))
    out = ndimage.map_coordinates(images, [zs, ys, xs], order=1, mode='constant', cval=0.0)
    out += 0.15 * s * rng.normal(size=out.shape)     # pixel noise
    return np.clip(out, 0, 1)

def make_pool(train, n:int, flip:float, seed:int, bs:int=10_000):
    "`n` distorted images of the training set `train`: (images uint8, labels, source ids, strengths, flipped)"
    rng = np.random.default_rng(seed)
    source = rng.integers(0, len(train), n)
    strength = rng.uniform(0, 1, n)
    labels = train.labels[source].copy()
    flipped = rng.random(n) < flip
    labels[flipped] = (labels[flipped] + rng.integers(1, train.n_classes, flipped.sum())) % train.n_classes
    images = np.empty((n, *train.images.shape[1:]), np.uint8)
    real = train.images[train.rows].astype(np.float32) / 255
    for start in range(0, n, bs):
        sl = slice(start, min(start + bs, n))
        images[sl] = np.round(255 * distort(real[source[sl]], strength[sl], rng)).astype(np.uint8)
        print(f"  {sl.stop:,} of {n:,} images", flush=True)
    return images, labels.astype(np.int64), source, strength, flipped

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default='npz:../shared/data/mnist/mnist_train.npz', help='the real data (a data spec)')
    p.add_argument('--valid', type=int, default=2435, help='its validation split, never used for the pool')
    p.add_argument('--n', type=int, default=300_000, help='images in the pool')
    p.add_argument('--flip', type=float, default=0.1, help='fraction of the pool given a wrong label')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='runs/pool/mnist_pool.npz')
    a = p.parse_args()
    train, valid = load_splits(a.data, valid=a.valid, seed=0)
    if train.images.ndim != 3: raise SystemExit(f"{a.data}: grey images (N, H, W) expected, got {train.images.shape}")
    start = time.perf_counter()
    images, labels, source, strength, flipped = make_pool(train, a.n, a.flip, a.seed)
    with atomic_path(a.out) as tmp, open(tmp, 'wb') as f:
        np.savez(f, image=images, label=labels, source=source, strength=strength, flipped=flipped)
    print(f"wrote {a.out}: {a.n:,} stand-in generated images {images.shape[1:]} made from the {len(train):,} training images "
          f"of {a.data} (split off {len(valid):,}, seed 0), {flipped.mean():.1%} with a flipped label, seed {a.seed}; "
          f"{time.perf_counter() - start:.0f} s")

if __name__ == '__main__': main()
