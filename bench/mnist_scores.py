"""Dynamics scores on the real MNIST: how reproducible they are, and whether pruning by them helps adversarial training.

1. Scoring runs: RS-FGSM in the MNIST setting (small CNN, eps 0.3, alpha 0.375, Adam, triangular lr to 5e-3), 20 epochs,
   on the 15,000 training images of the fixed split (2,435 validate, split seed 0), recording the adversarial and the
   clean dynamics, for two training seeds. DU (window 10) and FP from each source of each run; printed: Spearman
   rank agreement of DU adversarial vs clean, of each score across the two seeds, and of DU vs FP.
2. Training on a selection: 50 % of the training images, class-balanced, keeping the highest DU, the highest FP (both
   from the adversarial dynamics of the seed-0 scoring run, as the extrapolation paper prunes), or a random half;
   and all of them; each with `--seeds` training seeds. Clean and PGD-50 accuracy on the 2,435 validation images
   (PGD: l_inf eps 0.3, 50 steps of 2.5 eps / 50, 1 restart), optimiser steps and training seconds.

Every run is a run directory under --out: running the script again reuses finished runs and resumes stopped ones.

    python bench/mnist_scores.py [--data npz:../shared/data/mnist/mnist_train.npz] [--out runs/mnist_scores]
                                 [--trainer trades] [--epochs 10] [--seeds 3]
"""
import argparse
from pathlib import Path
import pandas as pd
from scipy.stats import spearmanr
from robust_prune.runs import RunConfig, train_run
from robust_prune.stages import score_run
from runs import train_and_evaluate
from robust_prune.select import select

def scoring(data, valid, out, seed):
    cfg = RunConfig(data, valid=valid, epochs=20, record_dynamics='both', seed=seed)
    s = train_run(cfg, out/f'scoring-seed{seed}', quiet=True)
    print(f"scoring run, seed {seed}: {s['epochs']} epochs, {s['train_seconds']:.0f} s, validation accuracy {s['valid_accuracy']:.4f}", flush=True)
    return {(m, d): score_run(out/f'scoring-seed{seed}', m, d, out=out/f'scores-seed{seed}'/f'{m}-{d}.npz')
            for m in ('du', 'fp') for d in ('adversarial', 'clean')}

def agreement(scores):
    rho = lambda a, b: spearmanr(a.score, b.score).statistic
    rows = [('DU adversarial vs DU clean', rho(s[('du', 'adversarial')], s[('du', 'clean')]), f'seed {seed}') for seed, s in scores.items()]
    rows += [('FP adversarial vs FP clean', rho(s[('fp', 'adversarial')], s[('fp', 'clean')]), f'seed {seed}') for seed, s in scores.items()]
    rows += [('DU vs FP, adversarial', rho(s[('du', 'adversarial')], s[('fp', 'adversarial')]), f'seed {seed}') for seed, s in scores.items()]
    for key in [('du', 'adversarial'), ('du', 'clean'), ('fp', 'adversarial'), ('fp', 'clean')]:
        rows.append((f'{key[0].upper()} {key[1]}, seed 0 vs seed 1', rho(scores[0][key], scores[1][key]), 'across seeds'))
    return pd.DataFrame(rows, columns=['comparison', 'spearman', 'runs'])

def pruned_training(data, valid, out, scores, trainer, epochs, seeds):
    selections = {'all': None}
    for name, key in [('DU', ('du', 'adversarial')), ('FP', ('fp', 'adversarial'))]:
        selections[name] = select(scores[key], keep=0.5, remove='lowest', class_balanced=True).save(out/f'select-{name}.npz')
    selections['random'] = select(scores[('du', 'adversarial')], keep=0.5, remove='random', class_balanced=True).save(out/'select-random.npz')
    rows = []
    for name, sel in selections.items():
        for seed in range(seeds):
            run = out/f'{trainer}-{name}-seed{seed}'
            cfg = RunConfig(data, valid=valid, trainer=trainer, epochs=epochs, seed=seed, selection=None if sel is None else str(sel))
            rows.append(dict(kept=name, **train_and_evaluate(cfg, run, f'{trainer} on {name}')))
    return pd.DataFrame(rows)

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default='npz:../shared/data/mnist/mnist_train.npz')
    p.add_argument('--valid', type=int, default=2435)
    p.add_argument('--out', default='runs/mnist_scores')
    p.add_argument('--trainer', default='trades', choices=['trades', 'rs-fgsm', 'pgd'])
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--seeds', type=int, default=3)
    a = p.parse_args()
    out = Path(a.out)
    scores = {seed: scoring(a.data, a.valid, out, seed) for seed in (0, 1)}
    print('\nrank agreement of the scores (Spearman, 15,000 training images)')
    print(agreement(scores).to_string(index=False, float_format='%.3f'))
    res = pruned_training(a.data, a.valid, out, scores[0], a.trainer, a.epochs, a.seeds)
    res.to_csv(out/f'{a.trainer}-results.csv', index=False)
    g = res.groupby('kept', sort=False)
    table = pd.DataFrame({'images': g.n_train.first(), 'clean': g.clean.mean(), 'clean sd': g.clean.std(), 'PGD-50': g.pgd50.mean(),
                          'PGD-50 sd': g.pgd50.std(), 'steps': g.steps.mean(), 'train s': g.train_seconds.mean()})
    print(f"\n{a.trainer}, {a.epochs} epochs, mean and sd over {a.seeds} seeds; 2,435 validation images")
    print(table.to_string(float_format='%.4f'))

if __name__ == '__main__': main()
