"""Speed of the fastai training path against a minimal plain PyTorch loop, and of a pruned epoch against a full one.

Both loops train the small MNIST CNN on the same data with the same batch size: RS-FGSM (eps 0.3, alpha 0.375),
Adam and the triangular learning rate. The fastai path is `robust_learner` as the command line uses it, which also
records every sample's training dynamics (what pruning needs; the plain loop records nothing) and times its epochs;
it is measured twice, with the dynamics recorded and without (`record=None`), so that the loop's own overhead and the
recording's cost are told apart; and a third time through fastai's own `Learner` (every event to every callback,
fastai's `Recorder`, `ParamScheduler` and `CastToTensor`), the same work, to show what the lean path saves.

On shared virtual machines the speed of a core drifts by 10 % and more within seconds, so the two loops are not
timed one after the other: they take turns, one batch each (the plain loop's step runs inside the fastai loop's
`after_batch`, on its own model and optimiser, and its time is taken out of the fastai batch it sits in). Both thus
see the same machine at the same moment, and the ratio of their epoch times is stable where separate runs are not.

The pruned ratio compares, within one fastai fit, the epoch after pruning to keep 40 % of the samples with the
full-data epoch before it, twice: in seconds, and with the plain loop taking turns again, each epoch's time divided by
the median plain step's meanwhile (the plain loop does the same work in both epochs, so the machine's drift between
the two epochs cancels); and an RS-FGSM epoch is compared with a standard-training epoch of the same fastai path
(the reference code's RS-FGSM epoch takes 1.65 standard ones). Ratios are medians over rounds.

    python bench/train_speed.py [--data npz:../shared/data/mnist/mnist_train.npz] [--valid 2435] [--rounds 3]

Targets: fastai / plain <= 1.05; an epoch at kept fraction 0.4 / a full epoch <= 0.45.
"""
import argparse, time, statistics
import torch, torch.nn.functional as F
from robust_prune.data import load_splits, dataloaders, to_float
from robust_prune.models import create_model
from robust_prune.attacks import rs_fgsm
from robust_prune.train import robust_learner, triangular, PruneAtEpoch
from fastai.callback.core import Callback, TrainEvalCallback
from fastai.callback.schedule import ParamScheduler
from fastai.callback.progress import ProgressCallback
from fastai.learner import Learner, Recorder

EPS, ALPHA, LR, ARCH = 0.3, 0.375, 5e-3, 'mnist-cnn'

def plain_steps(train, bs, seed):
    "The minimal loop, one batch per `next`: each step yields its seconds"
    torch.manual_seed(seed)
    model = create_model(ARCH, train.n_classes, train.shape)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x, y = to_float(torch.from_numpy(train.images[train.rows])), torch.from_numpy(train.labels)
    sched, n_batches = triangular(LR), -(-len(x) // bs)
    while True:   # as many epochs as are asked for
        for i, idx in enumerate(torch.randperm(len(x)).split(bs)):
            start = time.perf_counter()
            opt.param_groups[0]['lr'] = sched(i / n_batches)
            xa = rs_fgsm(model, x[idx], y[idx], EPS, ALPHA)
            loss = F.cross_entropy(model(xa), y[idx])
            opt.zero_grad(); loss.backward(); opt.step()
            yield time.perf_counter() - start

class TakeTurns(Callback):
    "Time each fastai batch, and run one step of `steps` after it (its time not counted as fastai's)"
    order = 1000
    def __init__(self, steps): self.steps, self.plain, self.batch_times, self.epochs = steps, [], [], []
    def before_batch(self):
        if self.training: self._start = time.perf_counter()
    def after_batch(self):
        if not self.training: return
        self.batch_times.append(time.perf_counter() - self._start)
        self.plain.append(next(self.steps))
    def before_train(self): self._epoch_start, self.plain_in_epoch = time.perf_counter(), len(self.plain)
    def after_train(self):
        mine = self.plain[self.plain_in_epoch:]
        self.fastai_epoch = time.perf_counter() - self._epoch_start - sum(mine)
        self.epochs.append((self.fastai_epoch, statistics.median(mine)))   # and the plain step's time meanwhile

def fastai_learner(train, valid, bs, seed, cbs=None, trainer='rs-fgsm', record='adversarial'):
    torch.manual_seed(seed)
    dls = dataloaders(train, valid, bs=bs, seed=seed)
    settings = dict(alpha=ALPHA) if trainer == 'rs-fgsm' else {}
    return robust_learner(dls, create_model(ARCH, train.n_classes, train.shape), trainer, eps=EPS, cbs=cbs,
                          record=record, **settings)

def stock(learn):
    "`learn` rebuilt as fastai's own `Learner`: every event to every callback, fastai's `Recorder` and `CastToTensor`"
    cbs = [cb for cb in learn.cbs if not isinstance(cb, (TrainEvalCallback, Recorder, ProgressCallback))]
    return Learner(learn.dls, learn.model, loss_func=learn.loss_func, opt_func=learn.opt_func, metrics=learn.metrics,
                   cbs=cbs)

def turns(train, valid, bs, seed, record='adversarial', lean:bool=True):
    "(fastai seconds, plain seconds) for one epoch each, taken in turns; `lean=False`: through fastai's stock `Learner`"
    turn = TakeTurns(plain_steps(train, bs, seed))
    learn = fastai_learner(train, valid, bs, seed, cbs=turn, record=record)
    if not lean: learn = stock(learn)
    with learn.no_bar(), learn.no_logging():
        if lean: learn.fit_triangular(1, LR)
        else: learn.fit(1, lr=LR, cbs=ParamScheduler({'lr': triangular(LR)}))
    return turn.fastai_epoch, sum(turn.plain)

def pruned_turns(train, valid, bs, seed):
    "Epoch 2 at kept fraction 0.4 / epoch 1, in plain steps taken in turns, and in seconds: (in turns, seconds)"
    turn = TakeTurns(plain_steps(train, bs, seed))
    learn = fastai_learner(train, valid, bs, seed, cbs=[PruneAtEpoch(2, keep=0.4, remove='highest'), turn])
    with learn.no_bar(), learn.no_logging(): learn.fit_triangular(3, LR)
    (full, step_full), (kept, step_kept) = turn.epochs[1:3]
    return (kept / step_kept) / (full / step_full), kept / full

def epochs(train, valid, bs, seed, n_epoch, trainer='rs-fgsm', cbs=None):
    "The epoch log of an `n_epoch` fit through the fastai path"
    learn = fastai_learner(train, valid, bs, seed, cbs=cbs, trainer=trainer)
    with learn.no_bar(), learn.no_logging(): learn.fit_triangular(n_epoch, LR)
    return learn.epoch_log.frame

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default='npz:../shared/data/mnist/mnist_train.npz')
    p.add_argument('--valid', type=int, default=2435)
    p.add_argument('--bs', type=int, default=100)
    p.add_argument('--rounds', type=int, default=3)
    a = p.parse_args()
    train, valid = load_splits(a.data, valid=a.valid, seed=0)
    print(f"{train}; batch size {a.bs}; {torch.get_num_threads()} threads")
    turns(train, valid, a.bs, seed=99)  # warm-up
    ratios, bare_ratios, stock_ratios, prune_ratios, std_ratios, kept_turns = [], [], [], [], [], []
    for r in range(a.rounds):
        fast, plain = turns(train, valid, a.bs, seed=r)
        ratios.append(fast / plain)
        print(f"round {r}: RS-FGSM epoch, fastai {fast:.2f}s, plain {plain:.2f}s: ratio {fast / plain:.3f}")
        fast, plain = turns(train, valid, a.bs, seed=r, record=None)
        bare_ratios.append(fast / plain)
        print(f"         without recording dynamics, fastai {fast:.2f}s, plain {plain:.2f}s: ratio {fast / plain:.3f}")
        fast, plain = turns(train, valid, a.bs, seed=r, record=None, lean=False)
        stock_ratios.append(fast / plain)
        print(f"         the same through fastai's stock Learner, {fast:.2f}s, plain {plain:.2f}s: "
              f"ratio {fast / plain:.3f}")
        t = epochs(train, valid, a.bs, r, 3, cbs=PruneAtEpoch(2, keep=0.4, remove='highest')).train_seconds.tolist()
        prune_ratios.append(t[2] / t[1])
        print(f"         3 epochs, 40 % kept from the third: {', '.join(f'{s:.2f}s' for s in t)}: "
              f"kept 0.4 / full {t[2] / t[1]:.3f}")
        in_turns, seconds = pruned_turns(train, valid, a.bs, r)
        kept_turns.append(in_turns)
        print(f"         the same in turns with the plain loop: kept 0.4 / full {in_turns:.3f} in plain steps "
              f"({seconds:.3f} in seconds)")
        std = epochs(train, valid, a.bs, r, 1, trainer='standard').train_seconds.iloc[0]
        std_ratios.append(t[1] / std)
        print(f"         standard-training epoch {std:.2f}s: RS-FGSM / standard {t[1] / std:.2f}")
    median = lambda v: f"{statistics.median(v):.3f}"
    print(f"\nmedians of {a.rounds} rounds, batch size {a.bs}:")
    print(f"fastai / plain RS-FGSM epoch, recording every sample's dynamics: {median(ratios)}")
    print(f"fastai / plain RS-FGSM epoch, the same work as the plain loop: {median(bare_ratios)}   (target <= 1.05)")
    print(f"  the same through fastai's stock Learner, Recorder and ParamScheduler: {median(stock_ratios)}")
    print(f"epoch at kept fraction 0.4 / full epoch, in turns with the plain loop: {median(kept_turns)}   "
          "(target <= 0.45)")
    print(f"  the same in seconds, one epoch after the other: {median(prune_ratios)}")
    print(f"RS-FGSM epoch / standard epoch, fastai path: {median(std_ratios)}   (reference code: 1.65)")

if __name__ == '__main__': main()
