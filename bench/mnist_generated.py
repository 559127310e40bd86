"""The papers' setting in miniature: the real MNIST split plus a stand-in generated pool twenty times its size, the pool
pruned by extrapolated DU / FP (the extrapolation paper) and by DeepFool margins (PUMA), TRADES on real + pool.

Data: the 15,000 training images of the fixed split (2,435 validate, split seed 0) and the `--pool` of `--n` stand-in
generated images (`bench/make_pool.py`: distorted training images, 10 % relabelled; no diffusion model runs here),
made if missing. Every TRADES run (beta 6, 10 steps, l_inf eps 0.3, the MNIST preset otherwise) draws `--aux-fraction`
(0.7, Wang et al.) of each batch from the pool and trains `--epochs` epochs of ceil(15,000 / 100) batches: the same
optimiser steps and images seen for every variant, whatever the size of the pruned pool.

1. **Extrapolation** (Wang et al.'s recipe): a random 10 % of the pool, written as its own `.npz`, is scored by a
   TRADES run on it (15 epochs, adversarial dynamics; DU window 10, and FP; an RS-FGSM run on it stayed at chance
   loss for all 15 epochs); the run's model embeds the pool;
   `extrapolate_files` carries each score to the whole pool with the method and k its cross-run estimate picks
   (`method='auto'`, `k='auto'`: two runs on halves of the scored tenth, other seeds), printing the estimate. The
   scored tenth are among the destination, each one of its own 12 neighbours. The pool is pruned to 50 % and 25 %
   (keeping the highest scores: DU / FP remove the lowest), plain and class-balanced, against a random pool of the
   same size and the full pool.
2. **PUMA**: margins (fast DeepFool, l_inf) of real + pool under the full-pool seed-0 model; the exact setting on a
   seeded 2,000-image sample of the pool, whose agreement with the fast one is printed; the 30 % highest margins of
   the pool removed with per-sample eps (PUMA), the same pool with eps 0.3 for all, a random 70 % of the pool.
3. Evaluation on the 2,435 validation images: clean, PGD-50 (eps 0.3, 1 restart) for every run, recorded as each
   run finishes; then AutoAttack (standard, l_inf 0.3) on a seeded `--aa-n` of them for the first `--aa-seeds` seeds
   of each variant, in the order of `AA_ORDER` (the costliest stage: about 4 minutes per 100 images here).

Results go to --results (default nbs/reproduce, read by nbs/23_reproduce_generated.ipynb): generated_mnist.csv (one
row per run), generated_mnist.json (the pool, the estimates, the margin agreement). Runs are run directories under
--out, reused when finished and resumed when stopped.

    python bench/mnist_generated.py [--data npz:../shared/data/mnist/mnist_train.npz] [--valid 2435] [--arch ARCH]
                                    [--out runs/mnist_generated] [--pool runs/pool/mnist_pool.npz] [--n 300000]
                                    [--epochs 5] [--seeds 3] [--aa-n 1000] [--aa-seeds 1] [--results nbs/reproduce]
"""
import json
from pathlib import Path
import numpy as np, pandas as pd
from fastcore.script import call_parse
from scipy.stats import spearmanr
from robust_prune.core import atomic_path
from robust_prune.data import load_npz, fingerprint
from robust_prune.pools import write_stand_in
from robust_prune.runs import RunConfig, train_run, run_data
from robust_prune.stages import score_run, embed_data, load_model
from robust_prune.scores import Scores, model_scores
from robust_prune.select import select, Selection
from robust_prune.transfer import extrapolate_files
from runs import train_and_evaluate, evaluated

# AutoAttack is the costliest evaluation: the runs it is run on, in this order
AA_ORDER = [('full pool', 1.0), ('PUMA', 0.7), ('pruned, fixed eps', 0.7), ('random', 0.7), ('random', 0.25),
            ('FP, class-balanced', 0.25), ('DU, class-balanced', 0.25), ('FP', 0.25), ('DU', 0.25), ('random', 0.5),
            ('FP, class-balanced', 0.5), ('DU, class-balanced', 0.5), ('FP', 0.5), ('DU', 0.5)]

def pool_file(path:Path, n:int, data:str, valid:int):
    "The stand-in pool of `data`'s training images, written once"
    if not path.exists(): write_stand_in(str(path), data, n, 0.1, 0, valid=valid, split_seed=0)
    pool = load_npz(path)
    if len(pool) != n: raise SystemExit(f"{path} holds {len(pool):,} images, not --n {n:,}: remove it or name another")
    return pool

def scored_tenth(out:Path, pool_path:Path, share:float=0.1, seed:int=0):
    "A seeded random `share` of the pool as its own `.npz` (its pool ids in `pool_id`), the set that is scored"
    path = out/'pool-scored.npz'
    if not path.exists():
        with np.load(pool_path, mmap_mode='r') as z:
            n = len(z['label'])
            ids = np.sort(np.random.default_rng(seed).choice(n, int(round(share * n)), replace=False))
            arrays = dict(image=np.asarray(z['image'][ids]), label=np.asarray(z['label'][ids]), pool_id=ids)
        with atomic_path(path) as tmp, open(tmp, 'wb') as f: np.savez(f, **arrays)
    return path

def extrapolated(out:Path, pool_path:Path, scored:Path):
    "DU and FP of the scored tenth, extrapolated to the pool with the method and k the cross-run estimate picks"
    run = out/'scoring'
    s = train_run(RunConfig(f'npz:{scored}', valid=0, trainer='trades', epochs=15, record_dynamics='adversarial', seed=0),
                  run, quiet=True)
    print(f"scoring run: {s['n_train_last']:,} pool images, {s['epochs']} epochs, {s['steps']} steps", flush=True)
    src, dst = out/'emb-scored.npy', out/'emb-pool.npy'
    if not src.exists(): embed_data(f'model:{run}', str(src), progress=False)
    if not dst.exists(): embed_data(f'model:{run}', str(dst), data=f'npz:{pool_path}', progress=False)
    res, info = {}, {}
    for method in ('du', 'fp'):
        sc, path = out/f'{method}-scored.npz', out/f'{method}-pool.npz'
        if not sc.exists(): score_run(run, method, out=str(sc))
        if not path.exists():
            extrapolate_files(str(sc), str(src), str(dst), str(path), method='auto', k='auto', run=str(run),
                              dest_data=f'npz:{pool_path}', halves=str(out/'halves'), progress=False)
        res[method] = Scores.load(path)
        x = res[method].meta['extrapolated']   # what was chosen, and the estimate it was chosen by
        info[method] = dict(method=x['method'], k=x['k'], estimate=x['estimate'], table=x['cv'],
                            ceiling=x['cross_run']['ceiling'], half_runs=x['cross_run']['n'], seeds=x['cross_run']['seeds'])
        print(f"{method}: extrapolated by {x['method']}, k {x['k']}", flush=True)
    return res, info

def margins(out:Path, pool_path:Path, full_run:Path, data:str, valid:int, sample:int=2000):
    "Fast margins of real + pool under the full-pool model; the exact setting on a sample of the pool, and their agreement"
    path = out/'margins-linf.npz'
    if not path.exists(): score_run(full_run, 'margin', norm='linf', out=str(path), progress=False)
    m = Scores.load(path)
    n_real = m.meta['data']['n_real']
    rows = n_real + np.sort(np.random.default_rng(0).choice(m.n_ids - n_real, sample, replace=False))
    exact_path = out/'margins-linf-exact-sample.npy'
    if not exact_path.exists():
        train, _ = run_data(RunConfig(data, valid=valid, aux_data=f'npz:{pool_path}'))
        model = load_model(str(full_run))[0]
        ex = model_scores(model, train.subset(np.isin(np.arange(len(train)), rows)), 'margin', norm='linf', exact=True,
                          data=fingerprint(train), progress=False)
        with atomic_path(exact_path) as tmp, open(tmp, 'wb') as f: np.save(f, np.stack([ex.by_id()[rows], ex.by_id(ex.lower_bound, fill=False)[rows]]))
    exact, bound = np.load(exact_path)
    fast, fast_bound = m.by_id()[rows], m.by_id(m.lower_bound, fill=False)[rows]
    agree = dict(sample=sample, spearman=float(spearmanr(fast, exact)[0]), flipped_fast=float(1 - fast_bound.mean()),
                 flipped_exact=float(1 - bound.astype(bool).mean()), flipped_real=float(1 - m.lower_bound[m.index < n_real].mean()))
    print(f"margins: fast vs exact DeepFool on {sample:,} pool images, Spearman {agree['spearman']:.4f}; flipped "
          f"{agree['flipped_fast']:.1%} fast, {agree['flipped_exact']:.1%} exact", flush=True)
    return path, m, agree

def kept_pool(pool_path:Path, sels:dict):
    "What each selection keeps of the stand-in pool: its share of the wrongly labelled images, its mean distortion"
    with np.load(pool_path, mmap_mode='r') as z: flipped, strength = np.asarray(z['flipped']), np.asarray(z['strength'])
    out = {}
    for (name, keep), sel in sels.items():
        m = np.ones(len(flipped), bool) if sel is None else Selection.load(sel).mask[-len(flipped):]
        out[f'{name}|{keep}'] = dict(flipped=float(flipped[m].mean()), strength=float(strength[m].mean()), n=int(m.sum()))
    return out

@call_parse
def main(data:str='npz:../shared/data/mnist/mnist_train.npz',  # the real data, a data spec
         valid:int=2435,  # its validation split (split seed 0), never trained on and never in the pool
         out:str='runs/mnist_generated',  # run directories and intermediate files
         pool:str='runs/pool/mnist_pool.npz',  # the stand-in pool (made if missing)
         n:int=300_000,  # images in the pool
         aux_fraction:float=0.7,  # share of each batch drawn from the pool
         epochs:int=5,  # TRADES epochs of ceil(15,000 / 100) batches
         arch:str=None,  # the network (default: the data's preset, the MNIST CNN)
         seeds:int=3,  # training seeds per variant
         aa_n:int=1000,  # AutoAttack: validation images (a seeded subset)
         aa_seeds:int=1,  # AutoAttack: the first this many seeds of each variant, in `AA_ORDER` (0: none)
         results:str='nbs/reproduce'):  # folder for the result tables
    "Prune a stand-in generated pool mixed into real MNIST by extrapolated DU / FP and by PUMA's margins; TRADES on each"
    out, pool_path, results = Path(out), Path(pool), Path(results)
    out.mkdir(parents=True, exist_ok=True); results.mkdir(parents=True, exist_ok=True)
    p = pool_file(pool_path, n, data, valid)
    print(f"pool: {len(p):,} stand-in generated images of shape {p.shape}", flush=True)
    base = dict(valid=valid, aux_data=f'npz:{pool_path}', aux_fraction=aux_fraction, trainer='trades', epochs=epochs,
                arch=arch)
    ex, ex_info = extrapolated(out, pool_path, scored_tenth(out, pool_path))
    sels = {('full pool', 1.0): None}
    for keep in (0.5, 0.25):
        sels[('random', keep)] = select(ex['du'], keep, 'random').save(out/f'select-random-{keep}.npz')
        for method in ('du', 'fp'):
            for cb in (False, True):
                name = f"{method.upper()}{', class-balanced' if cb else ''}"
                sels[(name, keep)] = select(ex[method], keep, 'lowest', class_balanced=cb).save(out/f'select-{method}{"-cb" * cb}-{keep}.npz')
    rows, csv = [], results/'generated_mnist.csv'
    def save():
        with atomic_path(csv) as tmp: pd.DataFrame(rows).to_csv(tmp, index=False)
    def slug(name, keep): return f"{name}-{keep}".replace(', ', '-').replace(' ', '-').lower()
    def run(experiment, name, keep, seed, sel=None, **extra):
        cfg = RunConfig(data, seed=seed, selection=None if sel is None else str(sel), **base, **extra)
        rows.append(dict(experiment=experiment, variant=name, pool_kept=keep,
                         **train_and_evaluate(cfg, out/f'trades-{slug(name, keep)}-seed{seed}', f'{name}, {keep:.0%} of the pool')))
        save()
    def puma_runs(seed):
        run('puma', 'PUMA', 0.7, seed, high, eps_from=str(path))
        run('puma', 'pruned, fixed eps', 0.7, seed, high)
        run('puma', 'random', 0.7, seed, rand)
    for (name, keep), sel in sels.items(): run('extrapolation', name, keep, 0, sel)
    path, m, agree = margins(out, pool_path, out/'trades-full-pool-1.0-seed0', data, valid)   # the seed-0 model
    high = select(m, 0.7, 'highest', pool='aux').save(out/'select-margin-highest-0.7.npz')
    rand = select(m, 0.7, 'random', pool='aux').save(out/'select-margin-random-0.7.npz')
    puma_runs(0)
    for seed in range(1, seeds):   # seed by seed, so that a stopped experiment has every variant of its seeds
        for (name, keep), sel in sels.items(): run('extrapolation', name, keep, seed, sel)
        puma_runs(seed)
    info = dict(data=data, pool=dict(n=n, flip=0.1, path_name=pool_path.name), valid=valid, aux_fraction=aux_fraction,
                real=len(run_data(RunConfig(data, valid=valid))[0]), epochs=epochs, seeds=seeds, aa_n=aa_n,
                aa_seeds=aa_seeds, extrapolation=ex_info, margins=agree,
                kept=kept_pool(pool_path, {**sels, ('PUMA', 0.7): high, ('random', 0.7): rand}))
    with atomic_path(results/'generated_mnist.json') as tmp: Path(tmp).write_text(json.dumps(info, indent=1, default=str) + '\n')
    res = pd.DataFrame(rows)
    for name, keep in AA_ORDER:   # the most telling comparisons first: the stage can be stopped when time runs out
        for seed in range(aa_seeds):
            at = (res.variant == name) & (res.pool_kept == keep) & (res.seed == seed)
            run_dir = out/f'trades-{slug(name, keep)}-seed{seed}'
            res.loc[at, 'pgd50_aa_images'] = evaluated(run_dir, 'pgd', steps=50, n=aa_n)   # the same images
            res.loc[at, 'autoattack'] = evaluated(run_dir, 'autoattack', n=aa_n)
            print(f"AutoAttack, {name}, {keep:.0%} of the pool, seed {seed}, {aa_n:,} images: "
                  f"{res.loc[at, 'autoattack'].iloc[0]:.4f} (PGD-50 on them {res.loc[at, 'pgd50_aa_images'].iloc[0]:.4f})",
                  flush=True)
            rows = res.to_dict('records'); save()
    g = res.groupby(['experiment', 'variant', 'pool_kept'], sort=False)
    table = pd.DataFrame({'clean': g.clean.mean(), 'clean sd': g.clean.std(), 'PGD-50': g.pgd50.mean(), 'PGD-50 sd': g.pgd50.std(),
                          'AA': g.autoattack.mean() if 'autoattack' in res else np.nan, 'steps': g.steps.mean(), 'runs': g.size()})
    print(f"\nTRADES on real + pool ({aux_fraction:.0%} of each batch), {epochs} epochs, mean and sd over {seeds} seeds; "
          f"2,435 validation images")
    print(table.to_string(float_format='%.4f'))
