"""Folds instead of halves for the cross-run estimate: does a larger extrapolating run close the learned
extrapolator's gap, and at what cost to the k-NN mean's estimate?

The cross-run estimate (`robust_prune.transfer.cross_run`) trains a run on each half of the scored source. With
`extrapolating_run='half'` each half's own run extrapolates its scores to the other half, compared with the other
half's own run, and the estimate of the learned extrapolator falls below what it measures (bench/transfer.py): mostly
because a half's run learns from half the images (each half run as the source measures 0.545 on the destination, the
whole source 0.680), a little because of its truth, a half run's DU. (By default the source run itself extrapolates
and the half runs only give the truth.) Here, on the same MNIST source (5,000 images of bench/transfer.py's split,
RS-FGSM, 40 epochs, DU window 20, or with --source-epochs 20 --window 10 the short source), the source is cut,
class-stratified, into --folds folds; a run on all but fold j (seed 20 + j, or 30 + j, then 40 + j, for one that stays at chance;
batches shrunk so that it makes the source run's steps) scores its images, and its DU is extrapolated to fold j
through its own model (penultimate features; the learned extrapolator also reads what that model says about each
image); the truth for fold j is the DU of a run on the whole source with a seed of its own (--truth-seeds: the
source runs of bench/transfer.py, 0 and 3, each in turn). Folds of a single fold's images as the truth, trained on
that fold alone, are too small to learn reliably (at 4 folds, 1,250 images), so the truth run shares the other
folds' images with the extrapolating run.

Printed: the estimate of each method and k (mean of the folds, spread ± half their range), against each truth, beside
the halves' estimate (each half's own run extrapolating) and the measured value from
--results/transfer_estimates_EPOCHS.csv when bench/transfer.py has made it.

    python bench/transfer_folds.py [--out runs/transfer] [--folds 4] [--truth-seeds 0 3]
        [--source-epochs 40 --window 20]
"""
import argparse
from pathlib import Path
import numpy as np, pandas as pd
from sklearn.model_selection import StratifiedKFold
from robust_prune.runs import RunConfig, run_data, load_run
from robust_prune.select import Selection
from robust_prune.data import fingerprint
from robust_prune.stages import score_run, run_self_features
from robust_prune.embed import model_embedder
from robust_prune.transfer import _embed_ids, learned
from robust_prune.core import read_json
from robust_prune.extrapolate import Transfer, cross_estimate
from transfer import DATA, VALID, splits, run

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='runs/transfer')
    p.add_argument('--folds', type=int, default=4)
    p.add_argument('--truth-seeds', type=int, nargs='+', default=[0, 3])
    p.add_argument('--results', default='nbs/reproduce')
    p.add_argument('--source-epochs', type=int, default=40, help='epochs of the source runs (default: %(default)s)')
    p.add_argument('--window', type=int, default=20, help="the source's DU window, in epochs (default: %(default)s)")
    a = p.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    train, _ = run_data(RunConfig(DATA, valid=VALID))
    src = splits(out, train)
    ids, labels = np.flatnonzero(src), train.labels
    sources = {s: run(out, 'source', s, a.source_epochs) for s in a.truth_seeds}
    truth = {s: score_run(r, 'du', window=a.window).by_id() for s, r in sources.items()}
    directions = {s: [] for s in truth}
    reference = read_json(sources[a.truth_seeds[0]]/'metrics.json', 'run metrics')['train']['valid_accuracy']
    folds = StratifiedKFold(a.folds, shuffle=True, random_state=0).split(ids, labels[ids])
    for j, (rest, held) in enumerate(folds):
        fit, test = ids[rest], ids[held]
        mask = np.zeros(train.n_ids, bool); mask[fit] = True
        Selection(mask, dict(data=fingerprint(train), method='all but a fold', fold=j, folds=a.folds)
                  ).save(out/f'fold{a.folds}-{j}.npz')
        for seed in (20 + j, 30 + j, 40 + j):   # a run that stays at chance is replaced, as `train_halves` does
            assert seed not in truth
            r = run(out, f'fold{a.folds}-{j}', seed, a.source_epochs, bs=round(100 * (a.folds - 1) / a.folds))
            if learned(r, reference, train.n_classes): break
            print(f"run {r} did not learn: the next seed stands in for it")
        else: raise SystemExit(f"no run on all but fold {j} learnt with three seeds")
        du, embedder = score_run(r, 'du', window=a.window).by_id(), model_embedder(load_run(r)[1])
        vf, vt = _embed_ids(embedder, train, fit), _embed_ids(embedder, train, test)
        own = run_self_features(r, train.subset(src), False)
        pos = lambda x: np.searchsorted(ids, x)
        for s, t in truth.items():
            directions[s].append(Transfer(vf, du[fit], vt, t[test], labels[fit], labels[test], own[pos(fit)],
                                          own[pos(test)]))
    # k scaled to the share of the source a fold's run holds, as the halves halve it
    share = (a.folds - 1) / a.folds
    ks = {max(1, round(k * share)): k for k in (1, 3, 6, 12, 25, 50)}
    measured = Path(a.results)/f'transfer_estimates_{a.source_epochs}.csv'
    ref = pd.read_csv(measured).set_index(['method', 'k']) if measured.exists() else None
    for s in truth:
        tab = cross_estimate(directions[s], 'regress', sorted(ks))
        tab['k'] = tab.k.map(ks)
        if ref is not None:
            tab['halves'] = [ref.cross_run_half.get((m, k), np.nan) for m, k in zip(tab.method, tab.k)]
            regress = ref.loc['regress'].measured.iloc[-1]   # the learned extrapolator measures alike at every k
            tab['measured'] = [ref.measured.get((m, k), regress if m == 'regress' else np.nan)
                               for m, k in zip(tab.method, tab.k)]
        print(f"\n{a.folds} folds, truth: the DU of the source run of seed {s}")
        print(tab.drop(columns=['metric', 'within_spread']).to_string(index=False, float_format='%.3f'))

if __name__ == '__main__': main()
