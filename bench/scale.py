"""Generated data at the papers' scale: a pool of millions of CIFAR-10-format images, converted, mixed into training, on
one and two processes; and what the papers' settings would cost, projected from rates measured here.

1. **The pool.** `--n` (default 2,000,000) stand-in generated images (32, 32, 3) made from the CIFAR-10 training
   images (`pools.stand_in_pool`: elastic and affine distortions, noise, 10 % wrong labels), written as a
   **compressed** `.npz` the way a shared pool usually comes, streamed member by member (never the whole array in
   memory). It is a stand-in: no diffusion model runs here.
2. **`robust-prune convert`** of it into a memory-mappable `.npz`: seconds, MB/s, and the peak RSS of the process.
3. **Mixed training**: one epoch of `robust-prune train` on CIFAR-10 + the pool (70 % generated per batch, Wang et
   al.'s epoch of ceil(50,000 / 128) batches), a small CNN (`mnist-cnn` on 3 x 32 x 32), RS-FGSM, dynamics recorded
   for all 2,050,000 ids: images/s and the peak RSS of the process, against the pool's size on disk.
4. **Two gloo processes against one**, on the same epoch, taken in turns (`--turns` each): images/s of each.
5. **Projection** of the papers' settings per stage from rates measured here, on this machine: PreAct-ResNet-18
   measured (an RS-FGSM training step, fast DeepFool margins, a forward pass for embedding); WRN-28-10 scaled from it
   by the ratio of their multiply-adds per 32 x 32 image (`--wrn-ratio`, 5.25 / 0.56 GFLOPs, an assumption stated in
   the output); for pools of 1M and 20M images: converting, one pass of margins, one pass of embedding, and an epoch
   of training (which, counted in real data, does not grow with the pool).

    python bench/scale.py [--cifar ../shared/data/cifar10] [--work runs/scale] [--n 2000000] [--turns 2]
                          [--keep-pool]

The work folder keeps the compressed pool between runs (made again only if missing or of another size). It needs
about 15 GB of disk for 2M images; it takes about an hour on 2 CPU cores, most of it making the pool. Run it alone.
"""
from __future__ import annotations
import json, os, shutil, subprocess, sys, time, zipfile
from pathlib import Path
import numpy as np, pandas as pd, torch
from fastcore.script import call_parse
from robust_prune.data import load_splits
from robust_prune.pools import stand_in_pool
from robust_prune.models import create_model
from robust_prune.attacks import rs_fgsm
from robust_prune.scores import SCORES
from robust_prune.models import features

RP = shutil.which('robust-prune') or str(Path(sys.executable).with_name('robust-prune'))

def gb(b): return f'{b / 2**30:.2f} GB'

_MEASURE = """
import json, os, subprocess, sys, time
start = time.perf_counter()
p = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(p.pid, 0)
print(json.dumps(dict(rc=os.waitstatus_to_exitcode(status), seconds=time.perf_counter() - start,
                      rss=usage.ru_maxrss * 1024)))
"""

def run_measured(cmd, env=None):
    "Run `cmd`; its seconds and the peak RSS (bytes) of its process and the children it waited for"
    # through a small process of its own: a child's peak RSS counts the memory of the process it was forked from
    r = subprocess.run([sys.executable, '-c', _MEASURE, *map(str, cmd)], env={**os.environ, **(env or {})},
                       capture_output=True, text=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if res['rc']: raise SystemExit(f"{' '.join(map(str, cmd))} failed ({res['rc']}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return res['seconds'], res['rss'], r.stdout

def make_pool(cifar:str, n:int, path:Path, chunk:int=50_000):
    "A compressed `.npz` of `n` stand-in images, written member by member in chunks"
    real, _ = load_splits(f'cifar10:{cifar}', valid=0)
    header = np.lib.format
    labels = np.empty(n, np.int64)
    tmp = path.with_name(path.name + '.tmp')
    with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open('image.npy', 'w', force_zip64=True) as f:
            header.write_array_header_1_0(f, dict(descr='|u1', fortran_order=False, shape=(n, 32, 32, 3)))
            for i, start in enumerate(range(0, n, chunk)):
                part = stand_in_pool(real, min(chunk, n - start), seed=i, progress=False)
                f.write(np.ascontiguousarray(part['image']).tobytes()); labels[start:start + chunk] = part['label']
                print(f'  pool: {start + len(part["label"]):,} of {n:,} images', flush=True)
        with zf.open('label.npy', 'w') as f: np.lib.format.write_array(f, labels)
    os.replace(tmp, path)

def epoch_rate(run:Path):
    "Images per second of training in the run's epochs"
    ep = pd.read_csv(run/'epochs.csv')
    return float((ep.seen_real + ep.seen_aux).sum() / ep.train_seconds.sum())

def per_image_seconds(fn, x, y, reps:int=3):
    "Seconds per image of `fn(x, y)`, the best of `reps` after one warm-up"
    fn(x, y); best = float('inf')
    for _ in range(reps):
        t = time.perf_counter(); fn(x, y); best = min(best, time.perf_counter() - t)
    return best / len(x)

def projection(wrn_ratio:float, convert_mb_s:float):
    "Per-image seconds of each stage for PreAct-ResNet-18, measured here; a table for 1M and 20M pools"
    torch.manual_seed(0)
    model = create_model('preact-resnet18', 10, (3, 32, 32))
    x, y = torch.rand(64, 3, 32, 32), torch.randint(0, 10, (64,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    def train_step(x, y):
        model.train(); adv = rs_fgsm(model, x, y, 8 / 255)
        loss = torch.nn.functional.cross_entropy(model(adv), y); opt.zero_grad(); loss.backward(); opt.step()
    def margins(x, y): model.eval(); SCORES['margin'].fn(model, x, y)
    def embed(x, y):
        model.eval()
        with torch.no_grad(): features(model, x)
    per = dict(train=per_image_seconds(train_step, x, y), margins=per_image_seconds(margins, x, y, 1),
               embed=per_image_seconds(embed, x, y))
    rows = []
    for arch, f in (('PreAct-ResNet-18', 1.0), (f'WRN-28-10 (x{wrn_ratio:.1f}, assumed)', wrn_ratio)):
        for n in (1_000_000, 20_000_000):
            rows.append(dict(arch=arch, pool=f'{n / 1e6:.0f}M', convert_h=n * 3072 / 2**20 / convert_mb_s / 3600,
                             margins_pass_h=n * per['margins'] * f / 3600, embed_pass_h=n * per['embed'] * f / 3600,
                             train_epoch_h=50_000 * per['train'] * f / 3600))
    return per, pd.DataFrame(rows)

@call_parse
def main(cifar:str='../shared/data/cifar10',  # the CIFAR-10 python batches (torchvision's layout)
         work:str='runs/scale',  # the work folder: the pool, its conversion, the runs
         n:int=2_000_000,  # images in the stand-in pool
         turns:int=2,  # 1-process and 2-process epochs, taken in turns
         wrn_ratio:float=5.25 / 0.56,  # WRN-28-10's multiply-adds per image over PreAct-ResNet-18's (an assumption)
         keep_pool:bool=True):  # keep the converted pool for another run
    "Make, convert and train on a pool of `n` generated-format images; project the papers' settings"
    work = Path(work); work.mkdir(parents=True, exist_ok=True)
    packed, mm = work/f'pool{n}.npz', work/f'pool{n}-mm.npz'
    report = {}
    if packed.exists() and np.load(packed)['label'].shape != (n,): packed.unlink()
    if not packed.exists():
        t = time.perf_counter(); make_pool(cifar, n, packed)
        report['make_pool_s'] = time.perf_counter() - t
    report['compressed_gb'] = packed.stat().st_size / 2**30
    mm.unlink(missing_ok=True)
    secs, rss, _ = run_measured([RP, 'convert', packed, mm])
    size = mm.stat().st_size
    report.update(convert_s=secs, convert_peak_rss_gb=rss / 2**30, pool_gb=size / 2**30, convert_mb_s=size / 2**20 / secs)
    print(f"convert: {n:,} images, {gb(packed.stat().st_size)} compressed -> {gb(size)} in {secs:.0f} s "
          f"({size / 2**20 / secs:.0f} MB/s), peak RSS {gb(rss)}", flush=True)
    args = ['train', '--data', f'cifar10:{cifar}', '--valid', 1000, '--aux-data', f'npz:{mm}', '--aux-fraction', 0.7,
            '--arch', 'mnist-cnn', '--epochs', 1, '--augment', 'none', '--opt', 'sgd', '--lr-max', 0.05]
    rates, rss_of = {1: [], 2: []}, {1: [], 2: []}
    for turn in range(turns):
        for procs in (1, 2):
            out = work/f'run-{procs}p-{turn}'
            shutil.rmtree(out, ignore_errors=True)
            launch = ([RP] if procs == 1 else
                      [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc-per-node={procs}', RP])
            secs, rss, _ = run_measured([*launch, *args, '--out', out], env=dict(OMP_NUM_THREADS=str(2 // procs)))
            rates[procs].append(epoch_rate(out)); rss_of[procs].append(rss)
            dyn = sum(f.stat().st_size for f in (out/'dynamics').glob('*.npy'))
            print(f"mixed epoch, {procs} process(es), turn {turn + 1}: {rates[procs][-1]:.0f} images/s, "
                  f"{secs:.0f} s in all, peak RSS {gb(rss)} (the pool is {gb(size)}; dynamics files {gb(dyn)})",
                  flush=True)
            shutil.rmtree(out)
    report.update({f'{p}p_images_s': rates[p] for p in rates}, **{f'{p}p_peak_rss_gb': [r / 2**30 for r in rss_of[p]]
                                                                 for p in rss_of})
    ratio = np.mean(rates[2]) / np.mean(rates[1])
    print(f"2 gloo processes / 1: {ratio:.2f} x the images/s (each process with {2 // 2} thread, against 2 threads)")
    per, table = projection(wrn_ratio, report['convert_mb_s'])
    print("\nmeasured here (PreAct-ResNet-18, batches of 64, per image): "
          + ', '.join(f'{k} {v * 1e3:.1f} ms' for k, v in per.items()))
    print(f"projected on this machine, hours (WRN-28-10 = PreAct-ResNet-18 x {wrn_ratio:.1f} by multiply-adds, "
          "assumed; an epoch is 50,000 real + generated images at any pool size):")
    print(table.round(1).to_string(index=False))
    report.update(per_image_s=per, projection=table.to_dict('records'), ratio_2p_1p=ratio)
    (work/'scale.json').write_text(json.dumps(report, indent=1, default=float))
    if not keep_pool: mm.unlink()
