"""How well the two quality estimates of an extrapolation predict what it reaches, on the real MNIST.

The 15,000 training images of the fixed split (2,435 validate, split seed 0) are cut, class-stratified and seeded as
in bench/mnist_extrapolate.py, into a 5,000-image source and a 10,000-image destination. RS-FGSM in the MNIST setting,
20 epochs, recording the adversarial dynamics:

- the source run (seed 0, 1,000 optimiser steps) scores the source by DU (window 10); its penultimate features embed
  all 15,000 images; runs of --source-seeds more (3 and 4) do the same, for the measured side only: the estimates
  copy the source run's configuration, whatever its seed;
- destination runs with seeds independent of the source's (--dest-seeds 1 2 13 14 15) give the truth: their DU of
  the destination images; every two of them give the destination's own ceiling (how far two runs agree: the mean and
  the range over the pairs). Runs differ: on MNIST the run of seed 2 learns the adversarial task more slowly than the
  others (training loss 0.66 after 12 epochs, 0.41 and 0.42 for the runs of seeds 1 and 13) and agrees with them at
  0.41 to 0.57, where they agree with each other at 0.75 to 0.81; two destination runs are too few for the measured
  side;
- the within-run estimate: 5-fold cross-validation inside the source (`--estimate within-run`);
- the cross-run estimate: three splits of the source into class-stratified halves, two runs on each split's halves
  with seeds of their own, batches of 50 so that they make the source run's 1,000 steps in its 20 epochs; the source
  run's DU of each half extrapolated to the other through its embeddings and its model, against that half's own run
  (`--estimate cross-run`, the default of `robust-prune extrapolate`, `--repeats 3`), with its ceiling (each half's
  run against the source run); once against the halves' own DU (the source run's length), once against the DU of two
  more half runs per split as long as the destination run in steps (`--dest-run`: 40 epochs in the same batches of
  50, DU window 20, for the 20-epoch source; none for the 40-epoch source, whose steps already match), as the command
  makes it when told the destination's run; and, against the same truth, with each half's own run extrapolating its
  DU instead (`--extrapolating-run half`: a source of half the size);
- measured: Spearman (overall and within classes) of each source run's DU extrapolated to the destination, k-NN mean
  for k = 1 ... 50 and the learned extrapolator, against each destination run's DU: the mean and sd over every
  (source seed, destination seed) pair, and the mean of each source seed and of each destination seed;
- measured with each half as the source: the half runs (2,500 images each) carry their own DU to the destination,
  judged by the same destination runs; it differs from the estimate with `--extrapolating-run half` only in its truth
  (the destination runs' DU, not a half run's), from the measured value only in the source's size; printed run by run
  beside the direction of that estimate the run extrapolates;
- measured with half the scored images: each source run's extrapolation from a class-stratified half of the images it
  scored (the others left out), against the same destination runs; it differs from the measured value only in the
  number of scored images, not in the run that scored them;
- what `--method auto --k auto` chooses under each estimate, and what that choice measures.

The source run makes 1,000 steps and a destination run 2,000: the run context of the extrapolated scores records
both, and says when they are 2x apart or more. With --source-epochs 40 --window 20 the source is scored as
bench/mnist_extrapolate.py's matched source: 2,000 steps, as many as a destination run, DU over the same share of
training (its half runs: 40 epochs of 2,500 images in batches of 50, 2,000 steps, their own truth).

Runs are run directories under --out (default runs/transfer), reused when finished; the figures are printed, and the
table written to --results/transfer_estimates_EPOCHS.csv.

    python bench/transfer.py [--out runs/transfer] [--source-seeds 0 3 4] [--dest-seeds 1 2 13 14 15]
        [--source-epochs 20 --window 10] [--results nbs/reproduce]
"""
import argparse, itertools, time, warnings
from pathlib import Path
import numpy as np, pandas as pd
from sklearn.model_selection import train_test_split
from robust_prune.core import atomic_path
from robust_prune.data import fingerprint
from robust_prune.runs import RunConfig, train_run, run_data, load_run
from robust_prune.select import Selection
from robust_prune.stages import score_run, embed_data, run_self_features
from robust_prune.transfer import extrapolate_files
from robust_prune.embed import Embeddings, embed, model_embedder
from robust_prune.scores import Scores
from robust_prune.extrapolate import extrapolate, rank_agreement, _choose

DATA, VALID = 'npz:../shared/data/mnist/mnist_train.npz', 2435
quiet = lambda s: None

def splits(out:Path, train):
    "The source and destination masks over the training ids (bench/mnist_extrapolate.py's), saved as selections"
    src_ids, _ = train_test_split(np.arange(len(train)), train_size=5000, stratify=train.labels, random_state=0)
    src = np.zeros(len(train), bool); src[src_ids] = True
    for name, m in [('source', src), ('destination', ~src)]:
        Selection(m, dict(data=fingerprint(train), method=f'{name} split', seed=0)).save(out/f'{name}.npz')
    return src

def run(out:Path, name:str, seed:int, epochs:int=20, bs:int=100):
    "The run of `epochs` epochs in batches of `bs` on the selection `name`, trained unless finished"
    t, tag = time.time(), '' if epochs == 20 else str(epochs)
    s = train_run(RunConfig(DATA, valid=VALID, epochs=epochs, seed=seed, bs=bs, selection=str(out/f'{name}.npz')),
                  out/f'{name}{tag}-seed{seed}', quiet=True)
    acc = pd.read_csv(out/f'{name}{tag}-seed{seed}'/'epochs.csv').accuracy.to_numpy()
    print(f"run {name}, seed {seed}: {s['n_train_last']} images, {s['epochs']} epochs, {s['steps']} steps, validation "
          f"accuracy above 0.5 {f'from epoch {int((acc > 0.5).argmax())}' if (acc > 0.5).any() else 'never'} "
          f"({time.time() - t:.0f} s here)", flush=True)
    return out/f'{name}{tag}-seed{seed}'

def measured(du, emb, own, truth:dict, dst, labels, table, source_seed:int=0):
    "Spearman, overall and within classes, of each row of `table` (method, k) against each destination run's DU"
    rows = []
    for method, k in table:
        chosen = pd.DataFrame([dict(method=method, metric='l2', k=k, spearman=np.nan)])   # this row, no estimate
        x = extrapolate(du, emb, emb, method, k=int(k), source_own=own, dest_own=own, progress=False, report=quiet,
                        quality=chosen)
        for seed, t in truth.items():
            r = rank_agreement(x.score[dst], t[dst], labels[dst])
            rows.append(dict(method=method, k=k, source_seed=source_seed, dest_seed=seed, spearman=r['spearman'],
                             within=r['spearman_within']))
    return pd.DataFrame(rows)

def half_scored(du:Scores, seed:int=0):
    "`du` with only a class-stratified half of its scored samples (split seed `seed`), the others left out"
    scored = np.flatnonzero(np.isfinite(du.score))
    _, drop = train_test_split(scored, train_size=0.5, stratify=du.label[scored], random_state=seed)
    score = du.score.copy(); score[drop] = np.nan
    return Scores(score, du.index, du.meta, label=du.label)

def dest_ceiling(truth:dict, dst, labels):
    "How far the destination runs' DU (`truth`, by seed) agree: the mean Spearman over every two runs, and its range"
    rs = [rank_agreement(truth[a][dst], truth[b][dst], labels[dst]) for a, b in itertools.combinations(truth, 2)]
    sp = [r['spearman'] for r in rs]
    return dict(spearman=float(np.mean(sp)), low=min(sp), high=max(sp),
                within=float(np.mean([r['spearman_within'] for r in rs])))

def features(run_dir, train):
    "The embeddings of every image of `train` by the penultimate features of the model of the run in `run_dir`"
    return embed(model_embedder(load_run(run_dir)[1]), train, dtype='float32', progress=False)

def half_sources(runs, window:int, truth:dict, dst, train, table):
    "`measured` with each half run of the cross-run estimate as the source: the same rows, on the destination"
    return pd.concat([measured(score_run(r, 'du', window=window), features(r, train),
                               run_self_features(r, train, progress=False), truth, dst, train.labels, table, i)
                      for i, r in enumerate(runs)])

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='runs/transfer')
    p.add_argument('--source-seeds', type=int, nargs='+', default=[0, 3, 4],
                   help='seeds of the source runs; the first makes the estimates (default: %(default)s)')
    p.add_argument('--dest-seeds', type=int, nargs='+', default=[1, 2, 13, 14, 15],
                   help='seeds of the destination runs, none a source seed (default: %(default)s)')
    p.add_argument('--source-epochs', type=int, default=20, help='epochs of the source run (default: %(default)s)')
    p.add_argument('--window', type=int, default=10, help="DU's window, in epochs (default: %(default)s)")
    p.add_argument('--results', default='nbs/reproduce', help='where transfer_estimates_EPOCHS.csv is written')
    a = p.parse_args()
    tag = '' if a.source_epochs == 20 else str(a.source_epochs)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train, _ = run_data(RunConfig(DATA, valid=VALID))
    src = splits(out, train)
    if set(a.source_seeds) & set(a.dest_seeds): p.error('--source-seeds and --dest-seeds must not share a seed')
    sources = {s: run(out, 'source', s, a.source_epochs) for s in a.source_seeds}
    source = sources[a.source_seeds[0]]
    truth = {s: score_run(run(out, 'destination', s), 'du').score for s in a.dest_seeds}
    halves = out/f'halves{tag}'
    def scored(seed):
        "The source run of `seed`: its DU file, embeddings file, and its model's description of every image"
        name = tag if seed == a.source_seeds[0] else f'{tag}-seed{seed}'
        du_file, emb_file = out/f'du{name}.npz', out/f'emb{name}.npy'
        score_run(sources[seed], 'du', window=a.window, out=du_file)
        if not emb_file.exists(): embed_data(f'model:{sources[seed]}', emb_file, progress=False)
        return du_file, emb_file, run_self_features(sources[seed], train, progress=False)
    du_file, emb_file, _ = scored(a.source_seeds[0])
    est = dict(method='regress', k='auto', progress=False)
    t = time.time()
    within = extrapolate_files(du_file, emb_file, estimate='within-run', report=quiet, **est)
    print(f"within-run estimate: {time.time() - t:.0f} s", flush=True)
    t = time.time()
    alike = extrapolate_files(du_file, emb_file, halves=halves, report=quiet, **est)
    print(f"cross-run estimate, truth as long as the source run (half runs trained or reused): {time.time() - t:.0f} s",
          flush=True)
    t = time.time()
    dest_run = out/f'destination-seed{a.dest_seeds[0]}'
    cross = extrapolate_files(du_file, emb_file, halves=halves, dest_run=dest_run, **est)
    print(f"cross-run estimate, truth as long as the destination run: {time.time() - t:.0f} s", flush=True)
    t = time.time()
    by_half = extrapolate_files(du_file, emb_file, halves=halves, dest_run=dest_run, extrapolating_run='half', **est)
    print(f"cross-run estimate, each half's own run extrapolating: {time.time() - t:.0f} s", flush=True)
    rows = {(r.method, int(r.k)) for q in (within, alike, cross, by_half) for r in q.itertuples()}
    m, m_half = [], []
    for seed in a.source_seeds:
        du_s, emb_s, own_s = scored(seed)
        du_s, emb_s = Scores.load(du_s), Embeddings.load(emb_s)
        m.append(measured(du_s, emb_s, own_s, truth, ~src, train.labels, sorted(rows), seed))
        m_half.append(measured(half_scored(du_s), emb_s, own_s, truth, ~src, train.labels, sorted(rows), seed))
    m, m_half = pd.concat(m), pd.concat(m_half)
    g, h = m.groupby(['method', 'k']), half_sources(alike.attrs['runs'], a.window, truth, ~src, train, sorted(rows))
    print("each half run (split by split, A then B) extrapolating its own DU: its direction of the estimate with "
          "--extrapolating-run half, against the other half's run, and as the source, against the destination runs")
    for d in by_half.attrs['directions']:
        on_dest = h[(h.method == d['method']) & (h.k == d['k'])].groupby('source_seed').spearman.mean()
        print(f"  {d['method']}, k {d['k']}: " + ' | '.join(f"{x:.3f} / {y:.3f}" for x, y in zip(d['spearman'], on_dest)))
    h = h.groupby(['method', 'k']).spearman
    table = pd.DataFrame({
        'within_run': within.set_index(['method', 'k']).spearman,
        'cross_run_source_length': alike.set_index(['method', 'k']).spearman,
        'cross_run': cross.set_index(['method', 'k']).spearman,
        'spread': cross.set_index(['method', 'k']).spread,
        'cross_within_classes': cross.set_index(['method', 'k']).within,
        'cross_run_half': by_half.set_index(['method', 'k']).spearman,
        'spread_half': by_half.set_index(['method', 'k']).spread,
        'measured': g.spearman.mean(),
        'measured_sd': g.spearman.std(),
        'measured_within_classes': g.within.mean(),
        'measured_half_sources': h.mean(),
        'measured_half_sources_sd': h.std(),
        'measured_half_scored': m_half.groupby(['method', 'k']).spearman.mean()})
    for s in a.source_seeds:
        table[f'measured_source{s}'] = m[m.source_seed == s].groupby(['method', 'k']).spearman.mean()
    for s in a.dest_seeds:
        table[f'measured_dest{s}'] = m[m.dest_seed == s].groupby(['method', 'k']).spearman.mean()
    print(f"\nDU (window {a.window}) of 5,000 MNIST images, scored by {a.source_epochs}-epoch runs, extrapolated to "
          f"10,000 others; estimated from the source run of seed {a.source_seeds[0]}; measured: mean and sd over the "
          f"source runs of seeds {a.source_seeds} against the 20-epoch destination runs of seeds {a.dest_seeds}, and "
          "the mean of each source seed and of each destination seed; measured_half_sources: each half run as the "
          "source instead (2,500 images), against the same destination runs; measured_half_scored: the source runs "
          "extrapolating from half the images they scored; cross_run_half: the estimate with each half's own run "
          "extrapolating; the learned extrapolator at the k each estimate gives it")
    print(table.sort_index().to_string(float_format='%.3f'))
    choices, estimated = {}, {}   # what `--method auto --k auto` takes under each estimate
    for name, q in (('within-run', within), ('cross-run, source length', alike), ('cross-run', cross),
                    ('cross-run, half runs extrapolating', by_half)):
        c = _choose(q, 'auto', 'auto', 'l2', warn=False)
        choices[name], estimated[name] = (c['method'], int(c['k'])), c['spearman']
    results = Path(a.results); results.mkdir(parents=True, exist_ok=True)
    with atomic_path(results/f'transfer_estimates_{a.source_epochs}.csv') as tmp:
        table.sort_index().assign(source_epochs=a.source_epochs, ceiling_halves=cross.attrs['ceiling']['spearman'],
                                  ceiling_destination=dest_ceiling(truth, ~src, train.labels)['spearman'],
                                  chosen=[key == choices['cross-run'] for key in table.sort_index().index]
                                  ).to_csv(tmp)
    c = cross.attrs['ceiling']
    print(f"ceiling of the cross-run estimate (each half's run vs the source run, same images): "
          f"{c['spearman']:.3f} ± {c['spread']:.3f}, within classes {c['within']:.3f}")
    if len(truth) > 1:
        r = dest_ceiling(truth, ~src, train.labels)
        print(f"ceiling of the destination (its DU from every two of the runs of seeds {a.dest_seeds}): "
              f"{r['spearman']:.3f} (from {r['low']:.3f} to {r['high']:.3f}), within classes {r['within']:.3f}")
    for name, key in choices.items():
        print(f"auto under the {name} estimate: {key[0]}, k = {key[1]}: estimated {estimated[name]:.3f}, "
              f"measured {table.loc[key, 'measured']:.3f}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        x = extrapolate_files(du_file, emb_file, emb_file, out=out/f'auto{tag}.npz', method='auto', k='auto',
                              dest_data=f'run:{source}', halves=halves,
                              dest_run=dest_run, progress=False, report=quiet)
    rec = x.meta['extrapolated']
    print(f"robust-prune extrapolate --method auto --k auto: {rec['method']}, k = {rec['k']} by the {rec['estimate']} "
          f"estimate; source run {rec['source_run']['steps']} steps on {rec['source_run']['n_train']} images, "
          f"destination run {rec['dest_run']['steps']} on {rec['dest_run']['n_train']}")
    for w in caught:
        if 'optimiser steps' in str(w.message): print(f"warning: {w.message}")
    print(f"\n{time.time() - t0:.0f} s in all")

if __name__ == '__main__': main()
