"""What recording training dynamics costs, and how fast scores are computed from them.

1. The recorder's overhead on an RS-FGSM epoch of the MNIST setting (small CNN, eps 0.3, alpha 0.375, batch 100,
   Adam). Separate epochs of separate runs differ by several per cent on a shared machine, more than the effect to
   be measured, so recorded and unrecorded batches take turns within one epoch: the recorder works on even batches
   only, and every batch is timed from its first callback to its last (attack, forward, backward, step). The
   overhead is the mean time of a recorded batch over that of an unrecorded one, minus 1: the recorder's own work
   and whatever it costs the rest of the step. Reported per epoch and as the median over epochs, for the adversarial
   dynamics (read off the training pass) and for both (plus one eval-mode forward of the clean batch); beside it,
   the share of the epoch spent inside the recorder's callbacks.
2. Seconds to compute each score from dynamics of 17,435 samples x 20 epochs (the size of the real MNIST file), from
   float32 arrays in memory and from float16 files memory-mapped from a run directory's layout; the median of 3.

    python bench/dynamics.py [--data npz:../shared/data/mnist/mnist_train.npz] [--valid 2435] [--epochs 5]

Targets: adversarial dynamics <= 3 % of an RS-FGSM epoch; every score < 1 s.
"""
import argparse, time, statistics, tempfile, collections
from pathlib import Path
import numpy as np, torch
from robust_prune.data import load_splits, dataloaders
from robust_prune.models import create_model
from robust_prune.train import robust_learner, DynamicsRecorder
from fastai.callback.core import Callback
from robust_prune.scores import (DYNAMICS_FIELDS, Dynamics, score_methods, dynamics_arrays, write_dynamics_meta,
                                 open_dynamics, score_dynamics, random_scores)

EPS, ALPHA, LR, BS = 0.3, 0.375, 5e-3, 100

class TimedRecorder(DynamicsRecorder):
    "A `DynamicsRecorder` that works on even batches only and adds up the seconds spent in each of its callbacks"
    def before_fit(self): super().before_fit(); self.by_event = collections.Counter()
    @property
    def seconds(self): return sum(self.by_event.values())
    def _timed(self, event):
        start = time.perf_counter(); getattr(super(), event)(); self.by_event[event] += time.perf_counter() - start
    def before_train(self): self._timed('before_train')
    def before_batch(self):
        if self.iter % 2 == 0: self._timed('before_batch')
    def after_loss(self):
        if self.iter % 2 == 0: self._timed('after_loss')
    def after_train(self): self._timed('after_train')

class BatchStart(Callback):
    "Marks the start of each batch, before every other callback"
    order = -100
    def before_batch(self): self.learn.batch_start = time.perf_counter()

class BatchEnd(Callback):
    "The seconds of each training batch, taken after every other callback, by whether the batch is even"
    order = 1000
    def before_epoch(self): self.times = {True: [], False: []}
    def after_batch(self):
        if self.training: self.times[self.iter % 2 == 0].append(time.perf_counter() - self.learn.batch_start)

def overhead(train, valid, epochs):
    for record in ('adversarial', 'both'):
        torch.manual_seed(0)
        timer, rec = BatchEnd(), TimedRecorder(record)
        learn = robust_learner(dataloaders(train, valid, bs=BS, seed=0), create_model('mnist-cnn', 10, train.shape), 'rs-fgsm',
                               eps=EPS, alpha=ALPHA, record=None, cbs=[BatchStart(), rec, timer])
        ratios, shares = [], []
        for epoch in range(epochs + 1):                         # the first epoch warms up
            with learn.no_bar(), learn.no_logging(): learn.fit(1, LR)
            on, off = (statistics.mean(timer.times[k]) for k in (True, False))
            if epoch == 0: continue
            ratios.append(on / off); shares.append(rec.seconds / learn.epoch_log.rows[-1]['train_seconds'])
            print(f"  {record}, epoch {epoch}: recorded batch {1e3 * on:.2f} ms, unrecorded {1e3 * off:.2f} ms: {100 * (on / off - 1):+.1f} %", flush=True)
        batches = len(learn.dls.train) / 2
        print(f"recording {record}: {100 * (statistics.median(ratios) - 1):+.1f} % per recorded batch (median of {epochs} epochs); "
              f"time inside the recorder {100 * statistics.median(shares):.2f} % of an epoch in which it recorded half the batches")
        print('  per recorded batch: ' + ', '.join(f"{e} {1e6 * t / batches:.0f} us" for e, t in rec.by_event.items()), flush=True)
    print("target: adversarial dynamics <= 3 %")

def dynamics_of(n, epochs, rng):
    "Random dynamics of the right kinds: losses, 0/1 correctness, error norms in [0, sqrt 2], margins"
    loss = rng.exponential(0.5, (epochs, n))
    return dict(loss=loss, correct=(rng.random((epochs, n)) < np.exp(-loss)).astype(float),
                el2n=rng.random((epochs, n)) * np.sqrt(2), margin=rng.normal(2, 3, (epochs, n)))

def score_times(n=17_435, epochs=20, repeats=3):
    rng = np.random.default_rng(0)
    arrays = dynamics_of(n, epochs, rng)
    in_memory = Dynamics({f: a.astype(np.float32) for f, a in arrays.items()})
    folder = Path(tempfile.mkdtemp())/'dynamics'
    files = dynamics_arrays(folder, ['adversarial'], epochs, n, 'float16')
    for f in DYNAMICS_FIELDS: files['adversarial', f][:] = arrays[f]; files['adversarial', f].flush()
    write_dynamics_meta(folder, ['adversarial'], epochs, n, 'float16', epochs)
    on_disk = open_dynamics(folder)
    print(f"\nseconds per score, {n} samples x {epochs} epochs, median of {repeats} (target < 1 s each):")
    print(f"  {'method':<11} {'float32 in memory':>18} {'float16 memory-mapped':>22}")
    for method in score_methods('dynamics') + ('random',):
        row = []
        for dyn in (in_memory, on_disk):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                score_dynamics(dyn, method) if method != 'random' else random_scores(n)
                times.append(time.perf_counter() - start)
            row.append(statistics.median(times))
        print(f"  {method:<11} {row[0]:>18.4f} {row[1]:>22.4f}")

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default='npz:../shared/data/mnist/mnist_train.npz')
    p.add_argument('--valid', type=int, default=2435)
    p.add_argument('--epochs', type=int, default=5)
    a = p.parse_args()
    train, valid = load_splits(a.data, valid=a.valid, seed=0)
    print(f"{train}; {torch.get_num_threads()} threads")
    print(f"\nRS-FGSM epochs on {len(train)} images, batch {BS}; the recorder works on every other batch:")
    overhead(train, valid, a.epochs)
    score_times()

if __name__ == '__main__': main()
