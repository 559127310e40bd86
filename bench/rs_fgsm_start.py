"""RS-FGSM with the random start clipped to [0, 1] before the gradient step, or not, on MNIST.

Wong et al.'s reference code clips the start for CIFAR-10 but not for MNIST, where most pixels are 0 and clipping
removes half of the noise on the background. This trains the MNIST setting (small CNN, eps 0.3, alpha 0.375,
10 epochs) both ways with the same seeds and prints clean and PGD-50 accuracy on the validation split.

    python bench/rs_fgsm_start.py [--data npz:../shared/data/mnist/mnist_train.npz] [--valid 2435] [--seeds 4]
"""
import argparse
from functools import partial
import torch
from robust_prune.data import load_splits, dataloaders
from robust_prune.models import create_model
from robust_prune.attacks import rs_fgsm
from robust_prune.train import robust_learner, AdversarialTraining
from robust_prune.evaluate import evaluate

def train(train_ds, valid_ds, seed, clip_start):
    torch.manual_seed(seed)
    attack = AdversarialTraining(partial(rs_fgsm, alpha=0.375, clip_start=clip_start), eps=0.3)
    learn = robust_learner(dataloaders(train_ds, valid_ds, bs=100, seed=seed), create_model('mnist-cnn', 10, train_ds.shape),
                           trainer='standard', record=None, cbs=attack)
    with learn.no_bar(), learn.no_logging(): learn.fit_triangular(10, 5e-3)
    return [evaluate(learn.model, valid_ds, a, eps=0.3, steps=50, alpha=0.01, progress=False)['accuracy'] for a in ('clean', 'pgd')]

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default='npz:../shared/data/mnist/mnist_train.npz')
    p.add_argument('--valid', type=int, default=2435)
    p.add_argument('--seeds', type=int, default=4)
    a = p.parse_args()
    train_ds, valid_ds = load_splits(a.data, valid=a.valid, seed=0)
    print(f"{train_ds}; clean / PGD-50 (eps 0.3, step 0.01) accuracy on {len(valid_ds)} validation images")
    for seed in range(a.seeds):
        (c0, r0), (c1, r1) = train(train_ds, valid_ds, seed, False), train(train_ds, valid_ds, seed, True)
        print(f"seed {seed}: start not clipped {c0:.3f} / {r0:.3f}    start clipped {c1:.3f} / {r1:.3f}", flush=True)

if __name__ == '__main__': main()
