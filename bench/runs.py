"""What the MNIST benchmark scripts share: one training run, evaluated clean and under PGD-50, as a row of a results table."""
import json
from pathlib import Path
from robust_prune.runs import RunConfig, train_run
from robust_prune.stages import evaluate_run

def evaluated(run, attack:str, **kw):
    "The accuracy of `run` under `attack`: the one its metrics.json records with these settings, else evaluated now"
    path = Path(run)/'metrics.json'
    for e in json.loads(path.read_text()).get('evaluations', []) if path.exists() else []:
        if e.get('attack') == attack and all(e.get(k) == v for k, v in kw.items()): return e['accuracy']
    return evaluate_run(run, attack=attack, progress=False, **kw)['accuracy']

def train_and_evaluate(cfg:RunConfig, run, label:str):
    "Train `cfg` into `run` (reused when finished), evaluate it clean and under PGD-50 on its validation data, print one line"
    s = train_run(cfg, run, quiet=True)
    clean, robust = evaluated(run, 'clean'), evaluated(run, 'pgd', steps=50)
    print(f"{label} ({s['n_train_last']} images), seed {cfg.seed}: clean {clean:.4f}, PGD-50 {robust:.4f}, {s['steps']} steps, "
          f"{s['train_seconds']:.0f} s ({run})", flush=True)
    return dict(seed=cfg.seed, n_train=s['n_train_last'], steps=s['steps'], train_seconds=s['train_seconds'], clean=clean, pgd50=robust)
