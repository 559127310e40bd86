"""DU extrapolation on the real MNIST: how well k-NN and the learned extrapolator rank images nobody trained on, and
what training on the extrapolated selection gives.

The 15,000 training images of the fixed split (2,435 validate, split seed 0) are cut, class-stratified and seeded,
into a 5,000-image source and a 10,000-image destination. RS-FGSM in the MNIST setting (small CNN, eps 0.3, alpha
0.375, Adam, triangular lr to 5e-3, bs 100), recording the adversarial dynamics, scores:

- the source, for 20 epochs (1,000 optimiser steps, DU window 10) and for 40 epochs (2,000 steps, the destination
  run's count, DU window 20, the same share of training);
- the destination, 20 epochs, seeds 0 and 1: the true DU (window 10), and its run-to-run agreement, the ceiling
  (how far two runs agree; not a bound on an extrapolation, see nbs/21_reproduce_extrapolation.ipynb); the truth is
  the run of seed 0, the source runs' own seed, and agreement with a run that shares the source's seed is inflated
  (bench/transfer.py measures against destination runs of other seeds);
- all 15,000, 20 epochs: the true DU the pruned training below keeps by.

Printed: Spearman of extrapolated vs true destination DU for the source model's embedder and for pixels + PCA (64
dims, fitted on the source), k = 1, 12, 50, and for the learned extrapolator; each next to its 5-fold
cross-validated estimate made inside the source. Then TRADES (10 epochs) on 50 % of the 15,000, class-balanced,
keeping the highest DU: extrapolated (the source's own DU where known, the learned extrapolator's elsewhere) vs
true DU vs random vs all, `--seeds` seeds; clean and PGD-50 accuracy on the 2,435 validation images, seconds.

Runs are run directories under --out, reused when finished. The TRADES runs on all, true-DU and random selections
are those of bench/mnist_scores.py (the same configs and selections); with --baselines pointing at its output they
are reused from there.

The tables are also written to --results (default nbs/reproduce, which nbs/21_reproduce_extrapolation.ipynb reads):
extrapolation_mnist_quality.csv (the Spearman table), extrapolation_mnist_trades.csv (one row per TRADES run) and
extrapolation_mnist.json (the ceiling, the agreement with the all-images DU and the overlap of the kept halves).

    python bench/mnist_extrapolate.py [--out runs/mnist_extrapolate] [--baselines runs/mnist_scores] [--seeds 3] [--results nbs/reproduce]
"""
import argparse, json
from pathlib import Path
import numpy as np, pandas as pd
from sklearn.model_selection import train_test_split
from robust_prune.data import fingerprint
from robust_prune.runs import RunConfig, train_run, run_data, load_run
from robust_prune.stages import score_run, run_self_features
from robust_prune.embed import embed, model_embedder, pixel_pca
from robust_prune.extrapolate import extrapolate, rank_agreement, kept_overlap
from robust_prune.select import Selection, select
from runs import train_and_evaluate

DATA, VALID = 'npz:../shared/data/mnist/mnist_train.npz', 2435

def splits(out:Path, train):
    "The source and destination masks over the training ids, saved as selections"
    src_ids, _ = train_test_split(np.arange(len(train)), train_size=5000, stratify=train.labels, random_state=0)
    src = np.zeros(len(train), bool); src[src_ids] = True
    for name, m in [('source', src), ('destination', ~src)]: Selection(m, dict(data=fingerprint(train), method=f'{name} split', seed=0)).save(out/f'{name}.npz')
    return src

def scoring(out:Path, name:str, selection, epochs:int=20, seed:int=0):
    cfg = RunConfig(DATA, valid=VALID, epochs=epochs, record_dynamics='adversarial', seed=seed, selection=selection and str(out/f'{selection}.npz'))
    s = train_run(cfg, out/f'scoring-{name}-seed{seed}', quiet=True)
    print(f"scoring run {name}, seed {seed}: {s['n_train_last']} images, {s['epochs']} epochs, {s['steps']} steps, {s['train_seconds']:.0f} s", flush=True)
    return out/f'scoring-{name}-seed{seed}'

def quality(out:Path, train, src, true, quiet=lambda s: None):
    "Spearman of extrapolated vs true destination DU, with the cross-validated estimates; the extrapolated scores to prune by"
    rows, best = [], None
    for name, epochs, window in [('source', 20, 10), ('source40', 40, 20)]:
        run = scoring(out, name, 'source', epochs)
        du = score_run(run, 'du', window=window)
        _, model = load_run(run)
        emb = {'model': embed(model_embedder(model), train, dtype='float32', progress=False),
               'pixels-pca': embed(pixel_pca(train.subset(src), 64, progress=False), train, dtype='float32', progress=False)}
        own = run_self_features(run, train, progress=False)
        for e_name, e in emb.items():
            for k in (1, 12, 50):
                x = extrapolate(du, e, e, 'knn', k, progress=False)
                cv = extrapolate(du, e, e, 'knn', 'auto', ks=(k,), progress=False, report=quiet).meta['extrapolated']['cv'][0]['spearman']
                rows.append(dict(source=f'{epochs} epochs, window {window}', embedder=e_name, method='knn', k=k, cv_estimate=cv,
                                 spearman=rank_agreement(x.score[~src], true[~src])['spearman'], kept_overlap=kept_overlap(x.score[~src], true[~src], 0.5)))
            x = extrapolate(du, e, e, 'regress', 12, source_own=own, dest_own=own, progress=False, report=quiet)
            cv = [r for r in x.meta['extrapolated']['cv'] if r['method'] == 'regress'][0]['spearman']
            rows.append(dict(source=f'{epochs} epochs, window {window}', embedder=e_name, method='regress', k=12, cv_estimate=cv,
                             spearman=rank_agreement(x.score[~src], true[~src])['spearman'], kept_overlap=kept_overlap(x.score[~src], true[~src], 0.5)))
            auto = extrapolate(du, e, e, 'knn', 'auto', progress=False, report=quiet).meta['extrapolated']
            rows.append(dict(source=f'{epochs} epochs, window {window}', embedder=e_name, method=f"knn, k auto (chose {auto['k']})", k=auto['k'],
                             cv_estimate=auto['cv'][0]['spearman'], spearman=np.nan, kept_overlap=np.nan))
            if name == 'source40' and e_name == 'model': best = x
    return pd.DataFrame(rows), best

def pruned_training(out:Path, baselines:Path|None, selections:dict, seeds:int):
    rows = []
    for name, sel in selections.items():
        for seed in range(seeds):
            run = out/f'trades-{name}-seed{seed}'
            if baselines is not None and name != 'extrapolated DU' and (baselines/f'trades-{name}-seed{seed}').exists(): run = baselines/f'trades-{name}-seed{seed}'
            cfg = RunConfig(DATA, valid=VALID, trainer='trades', epochs=10, seed=seed, selection=None if sel is None else str(sel))
            rows.append(dict(kept=name, **train_and_evaluate(cfg, run, f'trades on {name}')))
    return pd.DataFrame(rows)

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='runs/mnist_extrapolate')
    p.add_argument('--baselines', default='runs/mnist_scores', help="bench/mnist_scores.py's output, whose TRADES runs are reused")
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--results', default='nbs/reproduce', help='folder for the result tables (default: %(default)s)')
    a = p.parse_args()
    out, baselines = Path(a.out), Path(a.baselines) if a.baselines else None
    train, _ = run_data(RunConfig(DATA, valid=VALID))
    src = splits(out, train)
    true = [score_run(scoring(out, 'destination', 'destination', seed=s), 'du').score for s in (0, 1)]
    all_du = score_run(scoring(out, 'all', None), 'du')
    ceiling = rank_agreement(true[0][~src], true[1][~src])['spearman']
    table, best = quality(out, train, src, true[0])
    print(f"\nDU extrapolated to the 10,000 destination images vs their true DU (destination run, seed 0: the source "
          "runs' own seed, so inflated; bench/transfer.py measures against destination runs of other seeds); "
          f"run-to-run ceiling (destination seeds 0 vs 1): Spearman {ceiling:.3f}")
    print(table.to_string(index=False, float_format='%.3f'))
    vs_all = rank_agreement(best.score[~src], all_du.score[~src])['spearman']
    print(f"extrapolated vs true DU of the 15,000 (all-images run), on the destination: {vs_all:.3f}")
    sels = {'all': None}
    sels['DU'] = select(all_du, 0.5, 'lowest', class_balanced=True).save(out/'select-DU.npz')
    sels['random'] = select(all_du, 0.5, 'random', class_balanced=True).save(out/'select-random.npz')
    sels['extrapolated DU'] = select(best, 0.5, 'lowest', class_balanced=True).save(out/'select-extrapolated-DU.npz')
    if baselines is not None:
        for name in ('DU', 'random'):
            if (baselines/f'select-{name}.npz').exists() and not np.array_equal(Selection.load(baselines/f'select-{name}.npz').mask, Selection.load(sels[name]).mask):
                print(f"{baselines}'s {name} selection differs: training it here"); baselines = None; break
        else: sels.update({name: baselines/f'select-{name}.npz' for name in ('DU', 'random')})   # the same masks: its runs are these runs
    ov = Selection.load(out/'select-extrapolated-DU.npz').mask & Selection.load(out/'select-DU.npz').mask
    print(f"the extrapolated-DU half shares {ov.sum() / 7500:.3f} of the true-DU half (random: 0.5)", flush=True)
    res = pruned_training(out, baselines, sels, a.seeds)
    res.to_csv(out/'trades-results.csv', index=False)
    results = Path(a.results); results.mkdir(parents=True, exist_ok=True)
    table.to_csv(results/'extrapolation_mnist_quality.csv', index=False)
    res.to_csv(results/'extrapolation_mnist_trades.csv', index=False)
    (results/'extrapolation_mnist.json').write_text(json.dumps(dict(ceiling=ceiling, extrapolated_vs_all_du=vs_all,
                                                                     kept_overlap=ov.sum() / 7500, seeds=a.seeds), indent=1) + '\n')
    g = res.groupby('kept', sort=False)
    summary = pd.DataFrame({'images': g.n_train.first(), 'clean': g.clean.mean(), 'clean sd': g.clean.std(), 'PGD-50': g.pgd50.mean(),
                            'PGD-50 sd': g.pgd50.std(), 'train s': g.train_seconds.mean()})
    print(f"\nTRADES, 10 epochs, mean and sd over {a.seeds} seeds; 2,435 validation images")
    print(summary.to_string(float_format='%.4f'))

if __name__ == '__main__': main()
