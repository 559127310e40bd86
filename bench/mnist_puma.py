"""PUMA on the real MNIST: margin-based pruning with a per-sample attack budget, against its ablations and the baselines.

1. The robust model: TRADES (beta 6, 10 steps, l_inf eps 0.3) for `--epochs` epochs on the 15,000 training images of the
   fixed split (2,435 validate, split seed 0), seed 0: the full-data run of seed 0 below.
2. Its DeepFool margins (l_inf, the norm of training; 50 steps, overshoot 0.02, the `--candidates` highest other classes)
   for every training image; printed: fraction flipped, misclassified, and below eps, and the margin quartiles.
3. Training, each with `--seeds` seeds, all TRADES with the same settings:
   - `PUMA`: the 30 % highest margins removed, and each remaining image attacked with eps_i = puma_eps(margin_i, 0.3);
   - `pruned, fixed eps`: the same 70 % of the images, eps 0.3 for all (pruning alone);
   - `random 70 %`: a random 70 %, eps 0.3;
   - `full data`: all 15,000 images, eps 0.3.
   Clean and PGD-50 accuracy on the 2,435 validation images (l_inf eps 0.3, 50 steps of 2.5 eps / 50, 1 restart),
   optimiser steps and training seconds; mean and standard deviation over seeds.

The tables are also written to --results (default nbs/reproduce, which nbs/22_reproduce_puma.ipynb reads):
puma_mnist.csv (one row per run), puma_mnist_rule.csv (rule_counts: per class, the samples in each branch of PUMA's rule,
all and kept) and puma_mnist_margins.npz (the margins, labels, unreached flags and kept mask, compressed, for the histogram).

Every run is a run directory under --out: running the script again reuses finished runs and resumes stopped ones
(a finished full-data run of bench/mnist_scores.py with the same settings can be copied there to be reused).

    python bench/mnist_puma.py [--data npz:../shared/data/mnist/mnist_train.npz] [--out runs/mnist_puma]
                               [--epochs 10] [--seeds 3] [--keep 0.7] [--candidates 3] [--results nbs/reproduce]
"""
import argparse, json
from pathlib import Path
import numpy as np, pandas as pd
from robust_prune.runs import RunConfig, train_run
from robust_prune.stages import score_run
from robust_prune.scores import Scores
from robust_prune.select import select, puma_eps
from robust_prune.select import rule_counts
from runs import train_and_evaluate

EPS = 0.3

def margins(data, valid, out, epochs, candidates):
    "The margins file of the full-data seed-0 run, made once"
    run = out/'trades-full-seed0'
    train_run(RunConfig(data, valid=valid, trainer='trades', epochs=epochs, seed=0), run, quiet=True)
    path = out/'margins-linf.npz'
    if not path.exists(): score_run(run, 'margin', norm='linf', steps=50, overshoot=0.02, candidates=candidates, out=path, progress=False)
    m = Scores.load(path)
    eps = puma_eps(m.score, EPS, m.lower_bound)
    q = np.percentile(m.score, [25, 50, 75])
    print(f"DeepFool l_inf margins of the {len(m)} training images under the seed-0 TRADES model: {1 - m.lower_bound.mean():.1%} flipped "
          f"within 50 steps, {(m.score <= 0).mean():.1%} misclassified, {((m.score > 0) & (m.score < EPS) & ~m.lower_bound).mean():.1%} "
          f"with 0 < margin < {EPS}; quartiles {q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}; mean PUMA budget {eps.mean():.3f}", flush=True)
    return path, m

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default='npz:../shared/data/mnist/mnist_train.npz')
    p.add_argument('--valid', type=int, default=2435)
    p.add_argument('--out', default='runs/mnist_puma')
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--keep', type=float, default=0.7)
    p.add_argument('--candidates', type=int, default=3)
    p.add_argument('--results', default='nbs/reproduce', help='folder for the result tables (default: %(default)s)')
    a = p.parse_args()
    out = Path(a.out)
    path, m = margins(a.data, a.valid, out, a.epochs, a.candidates)
    sel = select(m, keep=a.keep, remove='highest')
    high, rand = sel.save(out/'select-highest.npz'), select(m, keep=a.keep, remove='random').save(out/'select-random.npz')
    print(f"PUMA keeps {sel.mask.sum()} images, margins up to {m.by_id()[sel.mask].max():.3f}", flush=True)
    variants = {'PUMA': ('puma', dict(selection=str(high), eps_from=str(path))), 'pruned, fixed eps': ('pruned', dict(selection=str(high))),
                f'random {a.keep:.0%}': ('random', dict(selection=str(rand))), 'full data': ('full', {})}
    rows = []
    for seed in range(a.seeds):
        for name, (slug, extra) in variants.items():
            run = out/f'trades-{slug}-seed{seed}'
            cfg = RunConfig(a.data, valid=a.valid, trainer='trades', epochs=a.epochs, seed=seed, **extra)
            rows.append(dict(variant=name, **train_and_evaluate(cfg, run, name)))
    res = pd.DataFrame(rows)
    res.to_csv(out/'results.csv', index=False)
    results = Path(a.results)
    results.mkdir(parents=True, exist_ok=True)
    res.to_csv(results/'puma_mnist.csv', index=False)
    rule_counts(m, EPS, sel).to_csv(results/'puma_mnist_rule.csv')
    np.savez_compressed(results/'puma_mnist_margins.npz', margin=m.score.astype(np.float32), label=m.label.astype(np.int8),
                        lower_bound=m.lower_bound, kept=sel.mask[m.index], meta=np.array(json.dumps(m.meta)))
    g = res.groupby('variant', sort=False)
    table = pd.DataFrame({'images': g.n_train.first(), 'clean': g.clean.mean(), 'clean sd': g.clean.std(), 'PGD-50': g.pgd50.mean(),
                          'PGD-50 sd': g.pgd50.std(), 'steps': g.steps.mean(), 'train s': g.train_seconds.mean(), 'runs': g.size()})
    print(f"\nTRADES (beta 6, l_inf eps 0.3), {a.epochs} epochs, mean and sd over {a.seeds} seeds; 2,435 validation images")
    print(table.to_string(float_format='%.4f'))

if __name__ == '__main__': main()
