"""PUMA's Figure 1 in spirit: teacher-student perceptrons trained on random or on the hardest samples of a pool,
standard and adversarially (l_2), with and without PUMA's per-sample budgets (`robust_prune.perceptron.scaling`).

Writes perceptron.csv to --results (default nbs/reproduce, read by nbs/23_reproduce_generated.ipynb): one row per
alpha, strategy, training regime and seed, with the exact clean and robust test errors. Minutes on one CPU core.

    python bench/perceptron.py [--d 100] [--keep 0.2] [--eps 0.3] [--seeds 5] [--results nbs/reproduce]
"""
from pathlib import Path
from fastcore.script import call_parse
from robust_prune.core import atomic_path
from robust_prune.perceptron import scaling

ALPHAS = (0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32)

@call_parse
def main(d:int=100,  # input dimension
         keep:float=0.2,  # keep-hard: the kept fraction of its pool
         eps:float=0.3,  # the adversarial l_2 budget
         seeds:int=5,  # teachers and data sets
         results:str='nbs/reproduce'):  # folder for the table
    "Test error against samples per dimension for random and keep-hard pruning, standard and adversarial training"
    t = scaling(d, ALPHAS, keep, eps, seeds=seeds)
    out = Path(results); out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out/'perceptron.csv') as tmp: t.to_csv(tmp, index=False)
    table = t.groupby(['regime', 'strategy', 'alpha'])[['clean_error', 'robust_error']].mean().unstack('alpha')
    print(f"d {d}, keep-hard keeps {keep:.0%} of its pool, eps {eps}, mean over {seeds} seeds; clean test error:")
    print(table['clean_error'].to_string(float_format='%.4f'))
