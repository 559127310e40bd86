"""Ways to move extrapolated DU towards the ceiling, measured against destination runs whose seeds are independent of
the source's, on the real MNIST (the data, split and runs of bench/transfer.py, whose run directories are reused).

The source (5,000 images) is scored by DU (window 10) of RS-FGSM runs of 20 epochs; the truth is the DU of the
10,000 destination images from 20-epoch runs on them with seeds 1, 2, 13, 14 and 15 (bench/transfer.py's). Each
variant extrapolates with the k-NN mean (k 12, and k 25) unless it says otherwise:

- `baseline`: the DU of the source run of seed 0, its model's penultimate features as the embedding;
- `seed-averaged DU`: the mean of the DU rank quantiles of source runs with seeds 0, 3 and 4 (a single run's DU is
  itself noisy), the seed-0 embedding;
- `pixels + PCA`: the seed-0 DU, in pixels + PCA(64) fitted on the source (an embedding no seeded run made);
- `seed-averaged features`: the seed-0 DU, in the concatenated, standardised penultimate features of the three source
  runs' models;
- `knn + regress`: the mean of the rank quantiles of the k-NN mean and of the learned extrapolator (seed-0 DU);
- `seed-averaged DU + features`: both seed averages together.

Printed: Spearman (overall and within classes) against each destination run, their mean, and the destination's
ceiling (the mean agreement of every two destination runs). Also written to --results/transfer_variants_EPOCHS.csv.
With --source-epochs 40 --window 20 the source runs make as many optimiser steps (2,000) as a destination run.

    python bench/transfer_variants.py [--out runs/transfer] [--source-epochs 20 --window 10] [--results nbs/reproduce]
"""
import argparse
from pathlib import Path
import numpy as np, pandas as pd
from robust_prune.core import atomic_path
from robust_prune.runs import RunConfig, run_data
from robust_prune.stages import score_run, run_self_features
from robust_prune.scores import Scores
from robust_prune.embed import Embeddings, embed, pixel_pca
from robust_prune.extrapolate import extrapolate, rank_agreement, quantiles
from transfer import DATA, VALID, splits, run, quiet, features, dest_ceiling

SOURCE_SEEDS, DEST_SEEDS = (0, 3, 4), (1, 2, 13, 14, 15)

def knn(du, e, k, **kw):
    chosen = pd.DataFrame([dict(method=kw.get('method', 'knn'), metric='l2', k=k, spearman=np.nan)])
    return extrapolate(du, e, e, kw.pop('method', 'knn'), k=k, progress=False, report=quiet, quality=chosen, **kw).score

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='runs/transfer')
    p.add_argument('--results', default='nbs/reproduce')
    p.add_argument('--source-epochs', type=int, default=20, help='epochs of the source runs (default: %(default)s)')
    p.add_argument('--window', type=int, default=10, help="the source's DU window, in epochs (default: %(default)s)")
    a = p.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    train, _ = run_data(RunConfig(DATA, valid=VALID))
    src = splits(out, train); dst = ~src
    sources = {s: run(out, 'source', s, a.source_epochs) for s in SOURCE_SEEDS}
    truth = {s: score_run(run(out, 'destination', s), 'du').score for s in DEST_SEEDS}
    du = {s: score_run(r, 'du', window=a.window) for s, r in sources.items()}
    base_emb = features(sources[0], train)
    feats = [features(r, train).vectors for r in sources.values()]
    z = np.concatenate([(f - f[src].mean(0)) / (f[src].std(0) + 1e-6) for f in feats], 1)
    avg_emb = Embeddings(z.astype(np.float32), base_emb.label, dict(base_emb.meta, embedder='features of three runs'))
    pix = embed(pixel_pca(train.subset(src), 64, progress=False), train, dtype='float32', progress=False)
    avg_du = Scores(np.mean([_source_quantiles(d.score, src) for d in du.values()], 0), du[0].index, du[0].meta,
                    label=du[0].label)
    own = run_self_features(sources[0], train, progress=False)
    rows = []
    def measure(name, pred, k):
        for s, t in truth.items():
            r = rank_agreement(pred[dst], t[dst], train.labels[dst])
            rows.append(dict(variant=name, k=k, dest_seed=s, spearman=r['spearman'], within=r['spearman_within']))
    for k in (12, 25):
        measure('baseline', knn(du[0], base_emb, k), k)
        measure('seed-averaged DU', knn(avg_du, base_emb, k), k)
        measure('pixels + PCA', knn(du[0], pix, k), k)
        measure('seed-averaged features', knn(du[0], avg_emb, k), k)
        measure('seed-averaged DU + features', knn(avg_du, avg_emb, k), k)
        reg = knn(du[0], base_emb, k, method='regress', source_own=own, dest_own=own)
        measure('regress', reg, k)
        both = (quantiles(knn(du[0], base_emb, k)) + quantiles(reg)) / 2
        measure('knn + regress', both, k)
    res = pd.DataFrame(rows)
    ceiling = dest_ceiling(truth, dst, train.labels)
    table = res.groupby(['variant', 'k'], sort=False).agg(spearman=('spearman', 'mean'), within=('within', 'mean'))
    for s in DEST_SEEDS: table[f'seed {s}'] = res[res.dest_seed == s].groupby(['variant', 'k'], sort=False).spearman.first()
    print(f"DU (window {a.window}) of 5,000 MNIST images scored by {a.source_epochs}-epoch runs, extrapolated to 10,000 others, against the DU of destination runs with seeds "
          f"{DEST_SEEDS} (independent of the source runs' {SOURCE_SEEDS}); ceiling (every two destination runs) "
          f"{ceiling['spearman']:.3f} ({ceiling['low']:.3f} to {ceiling['high']:.3f}), within classes "
          f"{ceiling['within']:.3f}")
    print(table.to_string(float_format='%.3f'))
    results = Path(a.results); results.mkdir(parents=True, exist_ok=True)
    with atomic_path(results/f'transfer_variants_{a.source_epochs}.csv') as tmp:
        table.assign(source_epochs=a.source_epochs, ceiling=ceiling['spearman'],
                     ceiling_within=ceiling['within']).to_csv(tmp)

def _source_quantiles(score, src):
    "The rank quantiles of `score` among the source samples, NaN elsewhere"
    q = np.full(len(score), np.nan)
    q[src] = quantiles(score[src])
    return q

if __name__ == '__main__': main()
