"""A stand-in for a pool of generated images, made from the real training images (`robust_prune.pools.stand_in_pool`).

No diffusion model runs here: each image is a real training image (never a validation image) under an elastic and an
affine distortion and pixel noise, of a strength drawn per image, and a fraction (`--flip`) gets another class's
label. The `.npz` is in the generated-set format (`image` uint8, `label` int64), stored uncompressed so that it is
memory-mapped, with `source` (the real image's id), `strength` and `flipped` beside them. Seeded: the same arguments
give the same file.

    python bench/make_pool.py [--data npz:../shared/data/mnist/mnist_train.npz] [--valid 2435] [--n 300000]
                              [--flip 0.1] [--seed 0] [--out runs/pool/mnist_pool.npz]
"""
import time
from fastcore.script import call_parse
from robust_prune.pools import write_stand_in

@call_parse
def main(data:str='npz:../shared/data/mnist/mnist_train.npz',  # the real data (a data spec)
         valid:int=2435,  # its validation split, never used for the pool
         n:int=300_000,  # images in the pool
         flip:float=0.1,  # fraction of the pool given a wrong label
         seed:int=0,  # the pool's seed
         out:str='runs/pool/mnist_pool.npz'):  # the pool to write
    "Write a stand-in pool of `n` distorted training images of `data`"
    start = time.perf_counter()
    pool = write_stand_in(out, data, n, flip, seed, valid=valid, split_seed=0)
    print(f"wrote {out}: {n:,} stand-in generated images {pool.shape} made from the training images of {data} "
          f"(split off {valid:,}, seed 0), seed {seed}; {time.perf_counter() - start:.0f} s")
