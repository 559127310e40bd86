"""DeepFool's line search after the last step (`attacks.deepfool(..., line_search=True)`) in l_2 on a robust model:
how many samples the fast settings flip, and how they rank against the published setting (every class, 50 steps).

On 1,000 validation images (a seeded subset) and the model of a finished run (default: the full-pool TRADES run of
seed 0 that bench/mnist_generated.py trains); seconds taken in one process against one PGD-10 attack, indicative only.

    python bench/deepfool_line_search.py [--run runs/mnist_generated/trades-full-pool-1.0-seed0] [--n 1000]
"""
import torch
from fastcore.script import call_parse
from scipy.stats import spearmanr
from robust_prune.data import to_float
from robust_prune.attacks import deepfool, pgd, default_alpha
from robust_prune.evaluate import eval_positions
from robust_prune.runs import load_run, run_data
from deepfool import seconds

@call_parse
def main(run:str='runs/mnist_generated/trades-full-pool-1.0-seed0',  # a finished run (its model, its validation split)
         n:int=1000):  # validation images
    "Fast DeepFool settings with and without the line search against the published one, l_2"
    torch.manual_seed(0)
    cfg, model = load_run(run); model.eval()
    valid = run_data(cfg)[1]
    x, y, _ = valid.raw_batch(eval_positions(valid, n, 0)); x = to_float(x)
    _, t_pgd = seconds(lambda: pgd(model, x, y, cfg.eps, default_alpha(cfg.eps, 10), steps=10, norm='linf'))
    ex, t_ex = seconds(lambda: deepfool(model, x, y, 'l2', 50, 0.02))
    right = (ex.margin > 0).numpy()
    print(f"published (all classes, 50 steps): {t_ex / t_pgd:.2f}x PGD-10, flipped {ex.flipped.float().mean():.1%}")
    for steps, cands, search in [(20, 4, False), (20, 4, True), (15, 3, True), (10, 3, True), (10, 2, True)]:
        r, t = seconds(lambda: deepfool(model, x, y, 'l2', steps, 0.02, cands, repick=True, line_search=search))
        rho = spearmanr(r.margin.numpy()[right], ex.margin.numpy()[right])[0]
        print(f"{cands} candidates re-picked, {steps} steps{', line search' if search else ''}: {t / t_pgd:.2f}x PGD-10, "
              f"Spearman {rho:.4f}, flipped {r.flipped.float().mean():.1%}", flush=True)
