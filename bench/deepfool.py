"""DeepFool margins on real MNIST: the fast setting of the margin score against the published one, against PGD-10 and
against torchattacks.DeepFool.

On 1,000 validation images (a seeded random subset of the 2,435 of the fixed split, split seed 0) and the robust model
of a finished run (default: the TRADES run, l_inf eps 0.3, that bench/mnist_puma.py trains on the other 15,000 images;
trained here if absent), and then of a standard-trained model of the same data (trained here if absent), whose
gradients are not masked, all in one process, in eval mode, in one batch, in each norm (l_inf, the norm PUMA trains in,
and l_2):

- seconds, taken in turns (PGD-10, then the published margins, then the fast ones, twice, the second round counted):
  one PGD-10 attack (l_inf eps 0.3, step 2.5 eps / 10, as the evaluation uses), the published DeepFool (`exact`: every
  other class at each step, up to 50 steps, overshoot 0.02) and the fast setting (`scores.MARGIN_SETTINGS['fast']`:
  the 4 highest-scoring other classes chosen again at each step, up to 20 steps, then a search along the perturbation
  for the samples still unflipped); the ratios to PGD-10;
- agreement of the fast margins with the published ones: Spearman over the correctly classified images (unflipped ones
  at their lower bounds) and over those both flip, and the fractions flipped;
- the margins' quartiles and the share misclassified;
- l_2 only, on `--ta` of the images: torchattacks.DeepFool (50 steps, overshoot 0.02; one image at a time, as that
  implementation works), its seconds against the published setting on the same images, and the agreement;
- the published setting against itself: its Spearman with the same attack on the images plus uniform noise below
  half a grey level (U(0, 0.5/255), invisible once the images are stored as uint8) and with overshoot 0.03 instead of
  0.02. This is the reference's own repeatability: no faster setting can be expected to agree with it better;
- gradient masking: of the images the published DeepFool does not flip, how many PGD-10 fools.

torchattacks is a bench-only dependency, not one of the package: `pip install --no-deps torchattacks` (its pin of an old
`requests` is not needed for DeepFool).

    python bench/deepfool.py [--run runs/mnist_puma/trades-full-seed0] [--standard-run runs/mnist_puma/standard-seed0]
                             [--n 1000] [--ta 200]
"""
import argparse, time, importlib.util
from pathlib import Path
import numpy as np, torch
from scipy.stats import spearmanr
from robust_prune.data import to_float
from robust_prune.attacks import deepfool, pgd, default_alpha, perturbation_size
from robust_prune.scores import MARGIN_SETTINGS
from robust_prune.evaluate import eval_positions
from robust_prune.runs import RunConfig, train_run, load_run, run_data

def seconds(f):
    start = time.perf_counter(); out = f()
    return out, time.perf_counter() - start

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--run', default='runs/mnist_puma/trades-full-seed0')
    p.add_argument('--data', default='npz:../shared/data/mnist/mnist_train.npz')
    p.add_argument('--standard-run', default='runs/mnist_puma/standard-seed0')
    p.add_argument('--n', type=int, default=1000)
    p.add_argument('--ta', type=int, default=200, help='images for torchattacks.DeepFool (0: skip it)')
    a = p.parse_args()
    for run, trainer in [(a.run, 'trades'), (a.standard_run, 'standard')]:
        if not (Path(run)/'model.pth').exists():
            train_run(RunConfig(a.data, valid=2435, trainer=trainer, epochs=10), run, quiet=True)
        measure(run, a.n, a.ta)
        print('\n' + '-' * 100 + '\n', flush=True)

def quartiles(v): return ' / '.join(f'{q:.3f}' for q in np.percentile(v, [25, 50, 75]))

def measure(run, n, n_ta):
    "Every figure of the docstring for the model of `run`, on `n` of its validation images"
    cfg, model = load_run(run)
    valid = run_data(cfg)[1]
    x, y, _ = valid.raw_batch(eval_positions(valid, n, seed=0))
    x = to_float(x)
    print(f"{len(x)} validation images of {cfg.data}; model of {run} ({cfg.trainer}, {cfg.norm} eps {cfg.eps}); "
          f"{torch.get_num_threads()} threads", flush=True)
    with torch.no_grad(): right = model(x).argmax(1) == y
    fast_kw, exact_kw = MARGIN_SETTINGS['fast'], MARGIN_SETTINGS['exact']
    for norm in ('linf', 'l2'):
        for _ in range(2):   # in turns; the first round warms up, the second is reported
            xp, t_pgd = seconds(lambda: pgd(model, x, y, cfg.eps, default_alpha(cfg.eps, 10), steps=10))
            ex, t_ex = seconds(lambda: deepfool(model, x, y, norm=norm, **exact_kw))
            fa, t_fa = seconds(lambda: deepfool(model, x, y, norm=norm, **fast_kw))
        both = right & ex.flipped & fa.flipped
        rho_right = spearmanr(fa.margin[right], ex.margin[right]).statistic
        rho_both = spearmanr(fa.margin[both], ex.margin[both]).statistic
        print(f"\n{norm}: seconds PGD-10 {t_pgd:.2f}; published DeepFool {t_ex:.2f} ({t_ex / t_pgd:.2f}x PGD-10); "
              f"fast {t_fa:.2f} ({t_fa / t_pgd:.2f}x PGD-10, {t_ex / t_fa:.1f}x faster than published)")
        print(f"  flipped, of the {right.sum()} correctly classified: published {ex.flipped[right].float().mean():.1%}, "
              f"fast {fa.flipped[right].float().mean():.1%}; {(~right).sum()} misclassified")
        print(f"  fast vs published: Spearman {rho_right:.4f} over the correctly classified (lower bounds included), "
              f"{rho_both:.4f} over the {both.sum()} both flip; margin ratio median {(fa.margin[both] / ex.margin[both]).median():.3f}")
        print(f"  quartiles of the margins of the correctly classified: published {quartiles(ex.margin[right])}, "
              f"fast {quartiles(fa.margin[right])}", flush=True)
        repeatability(model, x, y, norm, ex, right)
        if norm == 'l2': l2_exact = ex
    stuck = right & ~l2_exact.flipped
    with torch.no_grad(): pgd_fooled = model(xp).argmax(1) != y
    print(f"\ngradient masking: PGD-10 (l_inf {cfg.eps}) fools {(right & pgd_fooled).sum() / right.sum():.1%} of the correctly "
          f"classified; of the {stuck.sum()} that the published l_2 DeepFool leaves unflipped, PGD-10 fools {(pgd_fooled & stuck).sum()}")
    if n_ta and importlib.util.find_spec('torchattacks') is not None: torchattacks_check(model, x[:n_ta], y[:n_ta], right[:n_ta])
    elif n_ta: print("torchattacks is not installed: pip install --no-deps torchattacks")

def repeatability(model, x, y, norm, ex, right):
    "The published setting against itself, on images changed by less than half a grey level and with overshoot 0.03"
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) * 0.5 / 255
    for what, r in [('noise below half a grey level', deepfool(model, (x + noise).clamp(0, 1), y, norm=norm,
                                                              **MARGIN_SETTINGS['exact'])),
                    ('overshoot 0.03', deepfool(model, x, y, norm=norm, **{**MARGIN_SETTINGS['exact'], 'overshoot': 0.03}))]:
        print(f"  published vs itself with {what}: Spearman {spearmanr(r.margin[right], ex.margin[right]).statistic:.4f}, "
              f"flipped {r.flipped[right].float().mean():.1%}", flush=True)

def torchattacks_check(model, x, y, right):
    "torchattacks.DeepFool (l_2) against the published setting on the same images"
    import torchattacks
    ex, t_ex = seconds(lambda: deepfool(model, x, y, norm='l2', **MARGIN_SETTINGS['exact']))
    xt, t_ta = seconds(lambda: torchattacks.DeepFool(model, steps=50, overshoot=0.02)(x, y))
    with torch.no_grad(): ta_flipped = model(xt).argmax(1) != y
    ta_margin = perturbation_size(xt - x, 'l2')
    both = right & ex.flipped & ta_flipped
    print(f"torchattacks.DeepFool on {len(x)} images: {t_ta:.1f} s, {t_ta / t_ex:.1f}x the published setting here ({t_ex:.1f} s); "
          f"flipped {ta_flipped[right].float().mean():.1%} vs {ex.flipped[right].float().mean():.1%}; Spearman of the margins "
          f"over the {both.sum()} both flip: {spearmanr(ex.margin[both], ta_margin[both]).statistic:.4f}; largest relative "
          f"difference {((ex.margin[both] - ta_margin[both]).abs() / ta_margin[both]).max():.2e}", flush=True)

if __name__ == '__main__': main()
