"""What recording training dynamics costs, and how fast scores are computed from them.

1. The recorder's overhead on an RS-FGSM epoch of the MNIST setting (small CNN, eps 0.3, alpha 0.375, batch 100,
   Adam), measured two ways in one run:
   - three learners train the same data and take turns, one epoch each per round, each round starting with the next
     one: without a recorder, recording the adversarial dynamics (read off the training pass), and recording both
     (plus one eval-mode forward of the clean batch); the ratios of their epoch times are medians over rounds, so that
     the drift of a shared machine's speed cancels;
   - inside the recording learners, the seconds spent in the recorder's own callbacks (its share of the epoch), which
     does not depend on comparing separate epochs.
2. Seconds to compute each score from dynamics of 17,435 samples x 20 epochs (the size of the real MNIST file), from
   float32 arrays in memory and from float16 files memory-mapped from a run directory's layout; the median of 3.

    python bench/dynamics.py [--data npz:../shared/data/mnist/mnist_train.npz] [--valid 2435] [--rounds 5]

Targets: adversarial dynamics <= 3 % of an RS-FGSM epoch; every score < 1 s.
"""
import argparse, time, statistics, tempfile, collections
from pathlib import Path
import numpy as np, torch
from robust_prune.data import load_splits, dataloaders
from robust_prune.models import create_model
from robust_prune.train import robust_learner, DynamicsRecorder
from robust_prune.scores import (DYNAMICS_FIELDS, Dynamics, DYNAMICS_SCORES, dynamics_arrays, write_dynamics_meta,
                                 open_dynamics, score_dynamics, random_scores)

EPS, ALPHA, LR, BS = 0.3, 0.375, 5e-3, 100

class TimedRecorder(DynamicsRecorder):
    "A `DynamicsRecorder` that adds up the seconds spent in each of its own callbacks during training"
    def before_fit(self): super().before_fit(); self.by_event = collections.Counter()
    @property
    def seconds(self): return sum(self.by_event.values())
    def _timed(self, event):
        start = time.perf_counter(); getattr(super(), event)(); self.by_event[event] += time.perf_counter() - start
    def before_train(self): self._timed('before_train')
    def before_batch(self): self._timed('before_batch')
    def after_loss(self): self._timed('after_loss')
    def after_train(self): self._timed('after_train')

def learner(train, valid, record):
    torch.manual_seed(0)
    cbs = [TimedRecorder(record)] if record else []
    return robust_learner(dataloaders(train, valid, bs=BS, seed=0), create_model('mnist-cnn', 10, train.shape), 'rs-fgsm',
                          eps=EPS, alpha=ALPHA, record=None, cbs=cbs)

def overhead(train, valid, rounds):
    learners = {name: learner(train, valid, record) for name, record in [('none', None), ('adversarial', 'adversarial'), ('both', 'both')]}
    seconds = {name: [] for name in learners}
    shares, events = {name: [] for name in learners if name != 'none'}, {}
    names = list(learners)
    for r in range(rounds + 1):                       # round 0 warms up; each round starts with another learner
        for name in names[r % 3:] + names[:r % 3]:
            learn = learners[name]
            with learn.no_bar(), learn.no_logging(): learn.fit(1, LR)
            if r == 0: continue
            seconds[name].append(learn.epoch_log.rows[-1]['train_seconds'])
            if name in shares:
                shares[name].append(learn.timed_recorder.seconds / seconds[name][-1])
                events[name] = learn.timed_recorder.by_event
        if r: print(f"round {r}: train seconds " + ', '.join(f"{n} {s[-1]:.2f}" for n, s in seconds.items()), flush=True)
    med = statistics.median
    print(f"\nRS-FGSM epoch on {len(train)} images, batch {BS}, medians of {rounds} rounds:")
    for name in shares:
        ratio = med([a / b for a, b in zip(seconds[name], seconds['none'])])
        print(f"  recording {name:<11}: epoch {ratio:.3f} x the epoch without a recorder ({100 * (ratio - 1):+.1f} %); "
              f"time inside the recorder {100 * med(shares[name]):.1f} % of its epoch")
        batches = len(learners[name].dls.train)
        print('    last epoch, per batch: ' + ', '.join(f"{e} {1e6 * t / batches:.0f} us" for e, t in events[name].items()))
    print("  target: adversarial dynamics <= 3 %")

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
    for method in list(DYNAMICS_SCORES) + ['random']:
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
    p.add_argument('--rounds', type=int, default=5)
    a = p.parse_args()
    train, valid = load_splits(a.data, valid=a.valid, seed=0)
    print(f"{train}; {torch.get_num_threads()} threads")
    overhead(train, valid, a.rounds)
    score_times()

if __name__ == '__main__': main()
