"""What the MNIST benchmark scripts share: one training run, evaluated clean and under PGD-50, as a row of a results table."""
from robust_prune.runs import RunConfig, train_run
from robust_prune.stages import evaluate_run

def train_and_evaluate(cfg:RunConfig, run, label:str):
    "Train `cfg` into `run` (reused when finished), evaluate it clean and under PGD-50 on its validation data, print one line"
    s = train_run(cfg, run, quiet=True)
    clean = evaluate_run(run, attack='clean', progress=False)['accuracy']
    robust = evaluate_run(run, attack='pgd', steps=50, progress=False)['accuracy']
    print(f"{label} ({s['n_train_last']} images), seed {cfg.seed}: clean {clean:.4f}, PGD-50 {robust:.4f}, {s['steps']} steps, "
          f"{s['train_seconds']:.0f} s ({run})", flush=True)
    return dict(seed=cfg.seed, n_train=s['n_train_last'], steps=s['steps'], train_seconds=s['train_seconds'], clean=clean, pgd50=robust)
