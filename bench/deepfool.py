"""DeepFool margins on real MNIST: the batched `deepfool` against one PGD-10 attack and against torchattacks.DeepFool.

On 1,000 validation images (a seeded random subset of the 2,435 of the fixed split, split seed 0) and the robust model
of a finished run (default: the TRADES run, l_inf eps 0.3, that bench/mnist_puma.py trains on the other 15,000 images;
trained here if absent), and then of a standard-trained model of the same data (trained here if absent), whose
gradients are not masked, all in one process, in eval mode, in one batch:

- seconds for one PGD-10 attack (l_inf eps 0.3, step 2.5 eps / 10, as the evaluation uses), for `deepfool` (l_2, 50 steps,
  overshoot 0.02) with all classes as candidates and with the 3 highest, and for torchattacks.DeepFool (l_2, 50 steps,
  overshoot 0.02; one image at a time, as that implementation works): the ratios;
- agreement of the margins with torchattacks (Spearman over the images that both flip, of those the model classifies
  correctly), and whether they flip the same images;
- fraction flipped, misclassified, and the quartiles of the margins;
- gradient masking: of the images DeepFool does not flip within 50 steps, how many PGD (l_inf eps 0.3, 10 steps) does
  flip, and the l_2 size of PGD's successful perturbations against DeepFool's margins.

torchattacks is a bench-only dependency, not one of the package: `pip install --no-deps torchattacks` (its pin of an old
`requests` is not needed for DeepFool).

    python bench/deepfool.py [--run runs/mnist_puma/trades-full-seed0] [--standard-run runs/mnist_puma/standard-seed0] [--n 1000]
"""
import argparse, time
from pathlib import Path
import numpy as np, torch
from scipy.stats import spearmanr
from robust_prune.data import to_float
from robust_prune.attacks import deepfool, pgd, default_alpha, perturbation_size
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
    a = p.parse_args()
    for run, trainer in [(a.run, 'trades'), (a.standard_run, 'standard')]:
        if not (Path(run)/'model.pth').exists(): train_run(RunConfig(a.data, valid=2435, trainer=trainer, epochs=10), run, quiet=True)
        measure(run, a.n)
        print('\n' + '-' * 100 + '\n', flush=True)

def measure(run, n):
    "Every figure of the docstring for the model of `run`, on `n` of its validation images"
    cfg, model = load_run(run)
    valid = run_data(cfg)[1]
    x, y, _ = valid.raw_batch(eval_positions(valid, n, seed=0))
    x = to_float(x)
    print(f"{len(x)} validation images of {cfg.data}; model of {run} ({cfg.trainer}, {cfg.norm} eps {cfg.eps}); "
          f"{torch.get_num_threads()} threads")
    with torch.no_grad(): right = model(x).argmax(1) == y
    xp, t_pgd = seconds(lambda: pgd(model, x, y, cfg.eps, default_alpha(cfg.eps, 10), steps=10))
    with torch.no_grad(): pgd_fooled = model(xp).argmax(1) != y
    df, t_df = seconds(lambda: deepfool(model, x, y, norm='l2', steps=50, overshoot=0.02))
    df3, t_df3 = seconds(lambda: deepfool(model, x, y, norm='l2', steps=50, overshoot=0.02, candidates=3))
    import torchattacks
    ta_attack = torchattacks.DeepFool(model, steps=50, overshoot=0.02)
    xt, t_ta = seconds(lambda: ta_attack(x, y))
    with torch.no_grad(): ta_flipped = model(xt).argmax(1) != y
    ta_margin = perturbation_size(xt - x, 'l2')

    print(f"\nseconds: PGD-10 {t_pgd:.1f}; deepfool all classes {t_df:.1f} ({t_df / t_pgd:.2f}x PGD-10), 3 candidates {t_df3:.1f} "
          f"({t_df3 / t_pgd:.2f}x); torchattacks.DeepFool {t_ta:.1f} ({t_ta / t_df:.1f}x slower than deepfool, {t_ta / t_df3:.1f}x than 3 candidates)")
    for name, r in [('deepfool, all classes', df), ('deepfool, 3 candidates', df3)]:
        m = r.margin[right]
        q = np.percentile(m.numpy(), [10, 25, 50, 75, 90])
        print(f"{name}: {r.flipped[right].float().mean():.1%} of the {right.sum()} correctly classified flipped within 50 steps; "
              f"{(~right).sum()} misclassified (margins {r.margin[~right].min():.3f} .. {r.margin[~right].max():.3f}); "
              f"l_2 margins of the correct ones, 10/25/50/75/90 %: " + ' / '.join(f'{v:.3f}' for v in q))
    both = right & df.flipped & ta_flipped
    print(f"torchattacks: {ta_flipped[right].float().mean():.1%} of the correctly classified flipped; same flipped set: "
          f"{bool((df.flipped[right] == ta_flipped[right]).all())} ({(df.flipped[right] != ta_flipped[right]).sum()} differ); "
          f"Spearman of the margins over the {both.sum()} both flip: {spearmanr(df.margin[both], ta_margin[both]).statistic:.4f}; "
          f"largest relative difference {((df.margin[both] - ta_margin[both]).abs() / ta_margin[both]).max():.2e}")
    b3 = right & df.flipped & df3.flipped
    print(f"3 candidates vs all classes: Spearman {spearmanr(df.margin[b3], df3.margin[b3]).statistic:.4f} over {b3.sum()}; "
          f"margin ratio median {(df3.margin[b3] / df.margin[b3]).median():.3f}")

    stuck = right & ~df.flipped
    size = perturbation_size(xp - x, 'l2')
    fooled = right & pgd_fooled
    print(f"\ngradient masking: PGD-10 (l_inf {cfg.eps}) fools {fooled.float().sum() / right.sum():.1%} of the correctly classified; "
          f"of the {stuck.sum()} DeepFool leaves unflipped after 50 steps, PGD-10 fools {(pgd_fooled & stuck).sum()}. "
          f"l_2 size of PGD's successful perturbations: median {size[fooled].median():.3f}; DeepFool's margin of the same images: "
          f"median {df.margin[fooled].median():.3f} ({(df.margin[fooled] > size[fooled]).float().mean():.0%} larger than PGD's)")

if __name__ == '__main__': main()
