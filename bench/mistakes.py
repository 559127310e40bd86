"""Mistakes a careful user can make with robust_prune, tried one by one: does each end in a clean error?

A mistake should end in a `robust_prune.core.InputError` (a `ValueError`) with one line that names the argument or
path and what was expected; on the command line, exit status 2 and that one line on stderr, with nothing written.
This script sets up good inputs in a work folder (the built-in digits as an .npz, a tiny run trained for 2 epochs,
its scores, a selection, embeddings, a run stopped after its first epoch), then tries about 270 cases on the
command line (`robust-prune VERB ...`, each in a child process) and about 90 through the Python API (in this
process): bad argument values for every verb, output paths of the wrong kind, damaged or malformed inputs, files
that do not belong together, a run directory whose lock another process holds, a full disk (simulated with a file
size limit), and a few legitimate uses that must work (reusing a finished run, resuming a stopped one, logs with one
line per epoch). Each case gets its own folder under `WORK/cases/`, so that what it left behind can be listed.

Each case ends in exactly one outcome:

- `clean error`: exit status 2 and one line on stderr (warnings aside) without a traceback, or an `InputError` with a
  one-line message; nothing left behind (no new file or folder, no `.NAME.*` temporary, existing files unchanged);
- `traceback`: a Python traceback, another exit status or a signal; in the API, an exception that is no `InputError`;
- `wrong`: it went ahead where it should have refused, or refused but left files behind, or its result is wrong;
- `data loss`: it said it wrote a file that is missing, empty or does not load, or it changed a file it should not;
- `works`: a legitimate use, accepted, with the property it promises checked;
- `not run`: the case cannot be tried honestly here (the reason is in `seen`).

The table goes to a CSV (case, interface, category, command, expected, outcome, seen); the counts per outcome and
every case that is not `clean error` or `works` are printed. The work folder is wiped at the start.

    python bench/mistakes.py [--work runs/mistakes] [--csv runs/mistakes.csv] [--only SUBSTRING] [--jobs 2]

`--only` runs the cases whose name contains SUBSTRING (the setup always runs); `--jobs` command-line cases run at
once (a change to the shared inputs is blamed on the case that finds it, so use `--jobs 1` to pin one down).
It takes about 20 minutes on 2 CPU cores (each command-line case starts a process that imports torch and fastai).
"""
from __future__ import annotations
import contextlib, csv, fcntl, hashlib, io, json, os, re, resource, shlex, shutil, signal, subprocess, sys, time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
from fastcore.script import call_parse

OUTCOMES = ('clean error', 'works', 'traceback', 'wrong', 'data loss', 'not run')
RP = shutil.which('robust-prune') or str(Path(sys.executable).with_name('robust-prune'))
MARK = '.mistakes-work'   # marks a folder this script made, and may wipe

# ---------------------------------------------------------------------------------------------------------------
# Cases

@dataclass
class Case:
    name:str
    interface:str            # 'cli' or 'api'
    category:str
    run:str                  # cli: the arguments after robust-prune ({c}: the case folder); api: a Python expression
    expected:str='clean error'
    prep:tuple=()            # functions of the `Ctx` that build the case's inputs in its folder
    check:object=None        # works cases: check(ctx, result) -> None if right, else (outcome, what is wrong)
    mention:object=None      # text the error must contain (a str, or a function of the ctx)
    allow_new:bool=False     # a refusal may leave new files (a stopped run is meant to be resumed), not temporaries
    limit_kb:int|None=None   # a file size limit for the child (RLIMIT_FSIZE): writes beyond it fail with EFBIG
    stdout_file:str|None=None  # the child's stdout goes to this file in the case folder (a log)
    timeout:int=180
    serial:bool=False        # not run alongside other cases
    skip:str|None=None       # why it cannot be run here: outcome 'not run'

def cli(name, category, run, expected='clean error', prep=(), **kw):
    return Case(name, 'cli', category, run, expected, tuple(prep) if isinstance(prep, (list, tuple)) else (prep,), **kw)

def api(name, category, run, expected='clean error', prep=(), **kw):
    return Case(name, 'api', category, run, expected, tuple(prep) if isinstance(prep, (list, tuple)) else (prep,), **kw)

@dataclass
class Ctx:
    "What one case works with: its folder (absolute and relative to WORK), and what its preparation left for it"
    work:Path
    c:Path
    rel:str
    state:dict=field(default_factory=dict)
    cleanups:list=field(default_factory=list)

# ---------------------------------------------------------------------------------------------------------------
# Preparations: each returns a function of the ctx

DIG = {}   # the digits, as the package makes them: images uint8 (N, 8, 8), labels int64

def _inp(ctx, src): return ctx.work/'inputs'/src

def cp(src, dst=None):
    "Copy WORK/inputs/src (a file or a folder) into the case folder"
    def f(ctx):
        s, d = _inp(ctx, src), ctx.c/(dst or Path(src).name)
        if s.is_dir(): shutil.copytree(s, d)
        else: shutil.copy2(s, d)
    return f

def mkdir(name): return lambda ctx: (ctx.c/name).mkdir(parents=True)
def write(name, data='not a folder\n'):
    return lambda ctx: (ctx.c/name).write_bytes(data if isinstance(data, bytes) else data.encode())
def rm(name): return lambda ctx: shutil.rmtree(ctx.c/name) if (ctx.c/name).is_dir() else (ctx.c/name).unlink()

def cut(name, frac=0.5):
    "Truncate a file of the case to `frac` of its size: a copy or a download that stopped half-way"
    def f(ctx):
        p = ctx.c/name
        os.truncate(p, int(p.stat().st_size * frac))
    return f

def zero(name): return cut(name, 0)

def garble(name):
    "Replace a file of the case by random bytes of its size"
    def f(ctx):
        p = ctx.c/name
        p.write_bytes(np.random.default_rng(0).integers(0, 256, p.stat().st_size, dtype=np.uint8).tobytes())
    return f

def npz(name, **arrays):
    "Write an .npz into the case folder; a value may be a function of the digits (images, labels)"
    def f(ctx):
        with open(ctx.c/name, 'wb') as fh:
            np.savez(fh, **{k: v(DIG['images'], DIG['labels']) if callable(v) else v for k, v in arrays.items()})
    return f

def npy_as(name):
    "An .npy array written under the name `name` (e.g. an .npz name)"
    def f(ctx):
        with open(ctx.c/name, 'wb') as fh: np.save(fh, DIG['images'])
    return f

def json_edit(name, fn):
    def f(ctx):
        p = ctx.c/name
        p.write_text(json.dumps(fn(json.loads(p.read_text())), indent=2))
    return f

def with_labels(fn):
    "Digits images with labels changed by fn(labels) -> labels"
    return dict(image=lambda i, l: i, label=lambda i, l: fn(l.copy()))

def _set(l, idx, v): l[idx] = v; return l

HOLD = ("import fcntl, os, sys, time\n"
        "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "f.seek(0); f.truncate(); f.write(str(os.getpid())); f.flush(); print('held', flush=True); time.sleep(900)")

def hold_lock(folder):
    "Hold `folder/.lock` in a child process as `robust_prune.core.locked` does; the error must name its PID"
    def f(ctx):
        d = ctx.c/folder
        d.mkdir(parents=True, exist_ok=True)
        p = subprocess.Popen([sys.executable, '-c', HOLD, str(d/'.lock')], stdout=subprocess.PIPE, text=True)
        if p.stdout.readline().strip() != 'held': raise RuntimeError('the lock holder did not start')
        ctx.state['mention'] = str(p.pid)
        ctx.cleanups.append(lambda: (p.kill(), p.wait()))
    return f

def readonly(name):
    def f(ctx):
        (ctx.c/name).mkdir(exist_ok=True); (ctx.c/name).chmod(0o555)
        ctx.cleanups.append(lambda: (ctx.c/name).chmod(0o755))
    return f

def run_first(args):
    "Run `robust-prune args` once before the case (to repeat a command)"
    def f(ctx):
        r = subprocess.run([RP, *shlex.split(args.format(c=ctx.rel))], cwd=ctx.work, capture_output=True, text=True,
                           env=child_env())
        if r.returncode: raise RuntimeError(f'preparation failed: {r.stderr.strip()[-300:]}')
    return f

def repoint_data(run, name):
    "Point the run's config at its own .npz copy of the digits, reshuffled: the data file changed since training"
    def f(ctx):
        order = np.random.default_rng(0).permutation(len(DIG['labels']))
        with open(ctx.c/name, 'wb') as fh: np.savez(fh, image=DIG['images'][order], label=DIG['labels'][order])
        def edit(m):
            m['config']['data'] = f'npz:{ctx.rel}/{name}'
            return m
        json_edit(f'{run}/config.json', edit)(ctx)
    return f

# ---------------------------------------------------------------------------------------------------------------
# Checks of outcomes

def _load(path:Path):
    "Load what a stage wrote at `path` (scores, selection, embeddings, run, .npz); raise if it does not load"
    from robust_prune.scores import Scores
    from robust_prune.select import Selection
    from robust_prune.embed import Embeddings
    from robust_prune.runs import load_run
    if path.is_dir(): return load_run(path)
    if path.stat().st_size == 0: raise ValueError('empty file')
    if path.suffix == '.npy': return Embeddings.load(path)
    for cls in (Scores, Selection):
        try: return cls.load(path)
        except Exception: pass
    with np.load(path, allow_pickle=False) as z: return dict(z)

def loads(path:Path):
    try: _load(path); return True
    except Exception: return False

def scores_check(path, **meta):
    "The scores file at `path` (in the case folder) loads, and its meta has `meta`"
    def check(ctx, r):
        from robust_prune.scores import Scores
        try: s = Scores.load(ctx.c/path)
        except Exception as e: return 'data loss', f'{path} does not load: {e}'
        bad = {k: s.meta.get(k) for k, v in meta.items() if s.meta.get(k) != v}
        return ('wrong', f'{path} has {bad}') if bad else None
    return check

def selection_check(path, kept):
    def check(ctx, r):
        from robust_prune.select import Selection
        try: s = Selection.load(ctx.c/path)
        except Exception as e: return 'data loss', f'{path} does not load: {e}'
        return None if s.mask.sum() == kept else ('wrong', f'{path} keeps {s.mask.sum()}, not {kept}')
    return check

def embeddings_check(path, n, dim):
    def check(ctx, r):
        from robust_prune.embed import Embeddings
        try: e = Embeddings.load(ctx.c/path)
        except Exception as e_: return 'data loss', f'{path} does not load: {e_}'
        if (len(e), e.dim) != (n, dim): return 'wrong', f'{path} is {len(e)} x {e.dim}, not {n} x {dim}'
        if not np.isfinite(np.asarray(e.vectors, dtype=np.float32)).all(): return 'wrong', f'{path} holds NaN'
        return None
    return check

def run_check(folder, epochs, same_as=None):
    "The run in `folder` is finished with `epochs` epochs, no checkpoint left; `same_as`: its model.pth is unchanged"
    def check(ctx, r):
        d = ctx.c/folder
        if not loads(d): return 'data loss', f'{folder} does not load as a finished run'
        m = json.loads((d/'metrics.json').read_text())
        if m['train']['epochs'] != epochs: return 'wrong', f"{m['train']['epochs']} epochs, not {epochs}"
        if (d/'checkpoint.pth').exists(): return 'wrong', 'checkpoint.pth left in the finished run'
        if same_as and _digest(d/'model.pth') != _digest(ctx.work/'inputs'/same_as/'model.pth'):
            return 'wrong', 'the finished run was trained again (model.pth changed)'
        return None
    return check

def evaluations_check(run, attack, count):
    def check(ctx, r):
        evs = json.loads((ctx.c/run/'metrics.json').read_text())['evaluations']
        n = sum(e['attack'] == attack for e in evs)
        return None if n == count else ('wrong', f'{n} {attack} records in metrics.json, not {count}')
    return check

def figures_check(folder):
    def check(ctx, r):
        d = ctx.c/folder
        html = list(d.glob('*.html'))
        if not (d/'results.csv').is_file() or not html: return 'data loss', f'no results.csv or figures in {folder}'
        return None
    return check

def log_check(max_lines, epochs=None):
    "A log (not a terminal): no carriage return (a redrawn bar), at most `max_lines` lines, a line per epoch"
    def check(ctx, r):
        text = r.out + r.err
        if '\r' in text: return 'wrong', f"{text.count(chr(13))} carriage returns (a redrawn progress bar) in the log"
        lines = [l for l in r.out.splitlines() if l.strip()]
        if epochs is not None and sum(l.startswith('epoch') for l in lines) != epochs:
            return 'wrong', f"{sum(l.startswith('epoch') for l in lines)} epoch lines for {epochs} epochs"
        if len(lines) > max_lines: return 'wrong', f'{len(lines)} lines of log (at most {max_lines} expected)'
        ctx.state['note'] = f'{len(lines)} lines, no carriage return'
        return None
    return check

def value_check(fn, what):
    "An API result that must satisfy fn(result)"
    def check(ctx, r): return None if fn(r.value) else ('wrong', f'returned {what} wrong: {r.value!r:.120}')
    return check

# ---------------------------------------------------------------------------------------------------------------
# Command-line cases

def train_cases():
    out = '--out {c}/run'
    a = lambda name, args, **kw: cli(name, 'arguments', f'train {args} {out}', **kw)
    return [
        a('train --epochs 0', '--epochs 0'),
        a('train --epochs -1', '--epochs -1'),
        a('train --epochs not a number', '--epochs two'),
        a('train --bs 0', '--epochs 2 --bs 0'),
        a('train --eps -1', '--epochs 2 --eps -1'),
        a('train --eps nan', '--epochs 1 --eps nan'),
        a('train --lr-max 0', '--epochs 2 --lr-max 0'),
        a('train --arch unknown', '--epochs 2 --arch resnet50'),
        a('train --trainer unknown', '--epochs 2 --trainer pgdx'),
        a('train --norm unknown', '--epochs 2 --norm l1'),
        a('train --data unknown source', '--epochs 2 --data foo:bar'),
        a('train --data npz: of a missing file', '--epochs 2 --data npz:{c}/missing.npz'),
        a('train --data digits with an argument', '--epochs 2 --data digits:8'),
        a('train --data mnist: folder without MNIST', '--epochs 2 --data mnist:{c}/nothing'),
        a('train --valid fraction above 1', '--epochs 2 --valid 1.5'),
        a('train --valid more samples than the data', '--epochs 2 --valid 5000'),
        a('train --valid data of another image shape', '--epochs 2 --valid npz:inputs/big28.npz'),
        a('train --prune without --keep', '--epochs 2 --prune lowest --prune-epoch 1'),
        a('train --keep without --prune', '--epochs 2 --keep 0.5'),
        a('train --prune --keep 0', '--epochs 2 --prune lowest --keep 0 --prune-epoch 1'),
        a('train --prune --keep 1.5', '--epochs 2 --prune lowest --keep 1.5 --prune-epoch 1'),
        a('train --prune-epoch at the last epoch', '--epochs 2 --prune lowest --keep 0.5 --prune-epoch 2'),
        a('train --prune-dynamics clean not recorded', '--epochs 2 --prune lowest --keep 0.5 --prune-epoch 1 '
          '--prune-dynamics clean'),
        a('train --window without --prune-score du', '--epochs 2 --prune lowest --keep 0.5 --prune-epoch 1 --window 5'),
        a('train --trainer pgd --steps 0', '--epochs 2 --trainer pgd --steps 0'),
        a('train --steps for rs-fgsm that takes none', '--epochs 2 --steps 3'),
        a('train --alpha -1', '--epochs 2 --alpha -1'),
        a('train --trainer trades --beta -1', '--epochs 1 --trainer trades --beta -1 --steps 2'),
        a('train --probe -1', '--epochs 2 --probe -1'),
        a('train --n-classes below the labels', '--epochs 2 --n-classes 5'),
        a('train --pct-up 1.5', '--epochs 1 --pct-up 1.5'),
        a('train unknown option', '--epochs 2 --learning-rate 0.1'),
        cli('train data by position (digits)', 'arguments', 'train digits --epochs 2 --out {c}/run'),
        cli('train without --out', 'arguments', 'train --epochs 2'),
        a('train --eps-from a loss scores file', '--epochs 2 --eps-from inputs/loss.npz'),
        cli('train --eps-from l2 margins, training in linf', 'mismatches',
            f'train --epochs 2 --eps-from inputs/margin_l2.npz {out}'),
        cli('train --eps-from margins of other data', 'mismatches',
            f'train --epochs 2 --norm l2 --eps-from inputs/margin_other.npz {out}'),
        a('train --eps-from with --trainer standard', '--epochs 2 --norm l2 --trainer standard '
          '--eps-from inputs/margin_l2.npz'),
        a('train --selection of a scores file', '--epochs 2 --selection inputs/loss.npz'),
        cli('train --selection of other data', 'mismatches',
            f'train --epochs 2 --selection inputs/sel_other.npz {out}'),
        a('train --selection together with --prune', '--epochs 2 --selection inputs/sel.npz --prune lowest --keep 0.5 '
          '--prune-epoch 1'),
        a('train --selection missing file', '--epochs 2 --selection {c}/missing.npz'),
    ]

def train_output_cases():
    o = lambda name, args, prep: cli(name, 'output paths', f'train {args}', prep=prep)
    return [
        o('train --out an existing file', '--epochs 2 --out {c}/digits.npz', cp('digits.npz')),
        o('train --out under a file', '--epochs 2 --out {c}/file.txt/run', write('file.txt')),
        o('train --out a folder holding another run', '--epochs 3 --out {c}/run', cp('run')),
        cli('train --out a read-only folder', 'output paths', 'train --epochs 2 --out {c}/ro/run', prep=readonly('ro')),
        cli('train again into a finished run: reused', 'reuse', 'train --epochs 2 --out {c}/run', prep=cp('run'),
            expected='works: the finished run reused, its model unchanged', check=run_check('run', 2, same_as='run')),
        cli('train resumes a stopped run', 'reuse', 'train --epochs 8 --out {c}/stopped', prep=cp('stopped'),
            expected='works: resumed and finished, 8 epochs, no checkpoint left', check=run_check('stopped', 8)),
        cli('train a stopped run with other --epochs', 'mismatches', 'train --epochs 30 --out {c}/stopped',
            prep=cp('stopped')),
    ]

DATA = 'train --epochs 1 --data npz:{c}/bad.npz --out {c}/run'
BAD_DATA = [   # (name, preparation)
    ('zero-byte .npz', [cp('digits.npz', 'bad.npz'), zero('bad.npz')]),
    ('truncated .npz', [cp('digits.npz', 'bad.npz'), cut('bad.npz')]),
    ('garbage .npz', [cp('digits.npz', 'bad.npz'), garble('bad.npz')]),
    ('.npz without arrays', npz('bad.npz')),
    ('.npz with the keys images/labels', npz('bad.npz', images=lambda i, l: i, labels=lambda i, l: l)),
    ('.npz with a label -1', npz('bad.npz', **with_labels(lambda l: _set(l, 0, -1)))),
    ('.npz with a stray label 99', npz('bad.npz', **with_labels(lambda l: _set(l, 0, 99)))),
    ('.npz of float images in [0, 1]', npz('bad.npz', image=lambda i, l: i.astype(np.float32) / 255,
                                           label=lambda i, l: l)),
    ('.npz of flattened images (N, 64)', npz('bad.npz', image=lambda i, l: i.reshape(len(i), -1),
                                             label=lambda i, l: l)),
    ('.npz of 2-channel images', npz('bad.npz', image=lambda i, l: np.stack([i, i], -1), label=lambda i, l: l)),
    ('.npz of channels-first images (N, 1, 8, 8)', npz('bad.npz', image=lambda i, l: i[:, None], label=lambda i, l: l)),
    ('.npz of float labels', npz('bad.npz', image=lambda i, l: i, label=lambda i, l: l.astype(np.float64))),
    ('.npz with a label short', npz('bad.npz', image=lambda i, l: i, label=lambda i, l: l[:-1])),
    ('.npz of no images', npz('bad.npz', image=lambda i, l: i[:0], label=lambda i, l: l[:0])),
    ('.npz of non-square images', npz('bad.npz', image=lambda i, l: np.ascontiguousarray(i[:, :, :6]),
                                      label=lambda i, l: l)),
    ('.npz with pickled labels', npz('bad.npz', image=lambda i, l: i, label=lambda i, l: l.astype(object))),
    ('.npy file named .npz', npy_as('bad.npz')),
]

def data_cases():
    return [cli(f'train --data {n}', 'damaged inputs', DATA, prep=p, mention='bad.npz' if i < 3 else None)
            for i, (n, p) in enumerate(BAD_DATA)]

def damaged_run_cases():
    t, s = 'train --epochs 2 --out {c}/run', 'train --epochs 8 --out {c}/stopped'
    d = lambda name, cmd, prep, f: cli(name, 'damaged inputs', cmd, prep=prep, mention=f)
    return [
        d('train into a run whose config.json is empty', t, [cp('run'), zero('run/config.json')], 'config.json'),
        d('train into a run whose config.json is truncated', t, [cp('run'), cut('run/config.json')], 'config.json'),
        d('train into a run whose config.json is {}', t, [cp('run'), write('run/config.json', '{}')], 'config.json'),
        d('train into a run whose metrics.json is empty', t, [cp('run'), zero('run/metrics.json')], 'metrics.json'),
        d('train resumes a truncated checkpoint.pth', s, [cp('stopped'), cut('stopped/checkpoint.pth')],
          'checkpoint.pth'),
        d('train resumes a zero-byte checkpoint.pth', s, [cp('stopped'), zero('stopped/checkpoint.pth')],
          'checkpoint.pth'),
        d('train resumes with a truncated dynamics .npy', s,   # cut into the one epoch recorded
          [cp('stopped'), cut('stopped/dynamics/adversarial_loss.npy', 0.02)], 'adversarial_loss.npy'),
    ]

def special_cases():
    return [
        cli('train while another process holds the run lock', 'concurrency', 'train --epochs 2 --out {c}/run',
            prep=hold_lock('run'), mention=lambda ctx: ctx.state['mention'], serial=True),
        cli('evaluate while another process holds the run lock', 'concurrency',
            'evaluate {c}/run --steps 2 --n 20', prep=[cp('run'), hold_lock('run')],
            mention=lambda ctx: ctx.state['mention'], serial=True),
        cli('train log to a file: a line per epoch', 'logs', 'train --epochs 2 --out {c}/run', stdout_file='train.log',
            expected='works: no carriage return, a line per epoch', check=log_check(4, epochs=2)),
        cli('score --method margin log to a file', 'logs', 'score inputs/run --method margin --out {c}/m.npz',
            stdout_file='score.log', expected='works: no carriage return, at most 12 lines', check=log_check(12)),
        cli('embed log to a file', 'logs', 'embed --embedder pixels-pca:8 --data digits --out {c}/e.npy',
            stdout_file='embed.log', expected='works: no carriage return, at most 12 lines', check=log_check(12)),
        cli('evaluate log to a file', 'logs', 'evaluate {c}/run --steps 3', prep=cp('run'), stdout_file='eval.log',
            expected='works: no carriage return, at most 12 lines', check=log_check(12)),
        cli('score with a full disk (16 KB file size limit)', 'full disk',
            'score inputs/run --method loss --out {c}/s.npz',
            limit_kb=16, serial=True),
        cli('select with a full disk (2 KB file size limit)', 'full disk',
            'select inputs/loss.npz --keep 0.5 --remove lowest --out {c}/sel.npz', limit_kb=2, serial=True),
        cli('embed with a full disk (8 KB file size limit)', 'full disk',
            'embed --embedder pixels-pca:8 --data digits --out {c}/e.npy', limit_kb=8, serial=True),
        cli('train with a full disk (200 KB file size limit)', 'full disk', 'train --epochs 2 --out {c}/run',
            limit_kb=200, serial=True, allow_new=True,
            expected='clean error (the stopped run may stay, to be resumed; no temporaries)'),
        cli('evaluate a run in a read-only folder', 'output paths', 'evaluate {c}/run --steps 2 --n 20',
            prep=[cp('run'), lambda ctx: ctx.cleanups.append(lambda: (ctx.c/'run').chmod(0o755)),
                  lambda ctx: (ctx.c/'run').chmod(0o555)]),
    ]

def score_cases():
    o = '--out {c}/s.npz'
    a = lambda name, args, **kw: cli(name, 'arguments', f'score inputs/run {args} {o}', **kw)
    return [
        a('score --method unknown', '--method foo'),
        cli('score without --out', 'arguments', 'score inputs/run --method loss'),
        a('score --method du with 2 epochs recorded', '--method du'),
        a('score --method du --window 1', '--method du --window 1'),
        a('score --method el2n --first 0', '--method el2n --first 0'),
        a('score --method el2n --first beyond the epochs', '--method el2n --first 5'),
        a('score --method loss --epoch beyond the epochs', '--method loss --epoch 5'),
        a('score --method loss --window (du\'s setting)', '--method loss --window 3'),
        a('score --method loss --exact (margin\'s setting)', '--method loss --exact'),
        a('score --dynamics clean not recorded', '--method loss --dynamics clean'),
        a('score --method loss --data (model scores only)', '--method loss --data digits'),
        a('score --method margin --steps 0', '--method margin --steps 0'),
        a('score --method margin --overshoot -1', '--method margin --overshoot -1'),
        a('score --method margin --bs 0', '--method margin --bs 0'),
        a('score --method margin --valid without --data', '--method margin --valid 0.2'),
        a('score --method margin --data unknown source', '--method margin --data foo:bar'),
        a('score --method random --seed -1', '--method random --seed -1'),
        cli('score --method margin on 28x28 images', 'mismatches',
            f'score inputs/run --method margin --data npz:inputs/big28.npz {o}'),
        cli('score a missing run directory', 'arguments', f'score {{c}}/missing --method loss {o}'),
        cli('score a data file instead of a run', 'arguments', f'score inputs/digits.npz --method loss {o}'),
        cli('score --method margin of a file that is no TorchScript', 'arguments',
            f'score inputs/digits.npz --method margin --data digits {o}'),
        cli('score --out .txt', 'output paths', 'score inputs/run --method loss --out {c}/s.txt'),
        cli('score --out without suffix', 'output paths', 'score inputs/run --method loss --out {c}/s'),
        cli('score --out an existing folder', 'output paths', 'score inputs/run --method loss --out {c}/d',
            prep=mkdir('d')),
        cli('score --out under a file', 'output paths', 'score inputs/run --method loss --out {c}/file.txt/s.npz',
            prep=write('file.txt')),
        cli('score --out a read-only folder', 'output paths', 'score inputs/run --method loss --out {c}/ro/s.npz',
            prep=readonly('ro')),
        cli('score --out in new nested folders', 'output paths', 'score inputs/run --method loss --out {c}/a/b/s.npz',
            expected='works: written, loads', check=scores_check('a/b/s.npz', method='loss')),
        cli('score --out an existing scores file: replaced', 'output paths',
            'score inputs/run --method random --out {c}/loss.npz', prep=cp('loss.npz'),
            expected='works: replaced whole, loads', check=scores_check('loss.npz', method='random')),
        cli('score --dynamics clean of a run recording both', 'reuse',
            'score inputs/run_both --method loss --dynamics clean --out {c}/s.npz',
            expected='works: clean losses written', check=scores_check('s.npz', method='loss', dynamics='clean')),
    ]

def score_damage_cases():
    o, m = '--method loss --out {c}/s.npz', '--method margin --out {c}/s.npz'
    d = lambda name, args, prep, f: cli(name, 'damaged inputs', f'score {{c}}/run {args}', prep=[cp('run')] + prep,
                                        mention=f)
    return [
        d('score --method margin of a truncated model.pth', m, [cut('run/model.pth')], 'model.pth'),
        d('score --method margin of a zero-byte model.pth', m, [zero('run/model.pth')], 'model.pth'),
        d('score of a truncated dynamics .npy', o, [cut('run/dynamics/adversarial_loss.npy')], 'adversarial_loss.npy'),
        d('score with an empty dynamics.json', o, [zero('run/dynamics/dynamics.json')], 'dynamics.json'),
        d('score of a run without its dynamics folder', o, [rm('run/dynamics')], 'dynamics'),
        d('score of a run whose config.json is empty', o, [zero('run/config.json')], 'config.json'),
        d('score of a run whose config.json is garbage', o, [garble('run/config.json')], 'config.json'),
        cli('score a stopped run (no model.pth)', 'damaged inputs', 'score {c}/stopped --method loss --out {c}/s.npz',
            prep=cp('stopped')),
        cli('score a run whose npz data file changed since', 'mismatches',
            'score {c}/run --method loss --out {c}/s.npz',
            prep=[cp('run'), repoint_data('run', 'digits.npz')]),
        cli('score --dynamics clean with a truncated clean .npy', 'damaged inputs',
            'score {c}/run_both --method loss --dynamics clean --out {c}/s.npz',
            prep=[cp('run_both'), cut('run_both/dynamics/clean_loss.npy')], mention='clean_loss.npy'),
    ]

def select_cases():
    o = '--out {c}/sel.npz'
    a = lambda name, args, **kw: cli(name, 'arguments', f'select inputs/loss.npz {args} {o}', **kw)
    d = lambda name, src, prep=(), cat='damaged inputs', f=None: cli(
        name, cat, f'select {src} --keep 0.5 --remove lowest {o}', prep=prep, mention=f)
    return [
        a('select --keep 0', '--keep 0 --remove lowest'),
        a('select --keep 1.5', '--keep 1.5 --remove lowest'),
        a('select --keep -0.1', '--keep -0.1 --remove lowest'),
        a('select --keep not a number', '--keep half --remove lowest'),
        a('select --keep nan', '--keep nan --remove lowest'),
        a('select --keep 40 (a count, not a fraction)', '--keep 40 --remove lowest'),
        a('select --remove unknown', '--keep 0.5 --remove top'),
        cli('select without --keep', 'arguments', f'select inputs/loss.npz --remove lowest {o}'),
        a('select --remove random --seed -1', '--keep 0.5 --remove random --seed -1'),
        a('select --keep 1: keeps every sample', '--keep 1 --remove lowest', expected='works: all 1437 kept',
          check=selection_check('sel.npz', 1437)),
        d('select a missing scores file', '{c}/missing.npz', cat='arguments'),
        d('select a zero-byte scores file', '{c}/s.npz', [cp('loss.npz', 's.npz'), zero('s.npz')], f='s.npz'),
        d('select a truncated scores file', '{c}/s.npz', [cp('loss.npz', 's.npz'), cut('s.npz')], f='s.npz'),
        d('select a garbage scores file', '{c}/s.npz', [cp('loss.npz', 's.npz'), garble('s.npz')], f='s.npz'),
        d('select a scores file whose meta is not JSON', '{c}/s.npz',
          npz('s.npz', score=np.zeros(3), index=np.arange(3), meta=np.array('{"method": ')), f='s.npz'),
        d('select the embeddings .npy as scores', 'inputs/emb.npy', cat='arguments'),
        d('select a selection file as scores', 'inputs/sel.npz', cat='arguments'),
        d('select the data .npz as scores', 'inputs/digits.npz', cat='arguments'),
        d('select scores with NaN (untrained samples)', 'inputs/nan_scores.npz', cat='arguments'),
        d('select scores of a subset of the ids', 'inputs/subset_scores.npz', cat='arguments'),
        cli('select --class-balanced, scores without labels', 'arguments',
            f'select inputs/nolabel_scores.npz --keep 0.5 --remove lowest --class-balanced {o}'),
        cli('select --out .txt', 'output paths', 'select inputs/loss.npz --keep 0.5 --remove lowest --out {c}/sel.txt'),
        cli('select --out without suffix', 'output paths',
            'select inputs/loss.npz --keep 0.5 --remove lowest --out {c}/sel'),
        cli('select --out an existing folder', 'output paths',
            'select inputs/loss.npz --keep 0.5 --remove lowest --out {c}/d', prep=mkdir('d')),
        cli('select --out under a file', 'output paths',
            'select inputs/loss.npz --keep 0.5 --remove lowest --out {c}/file.txt/sel.npz', prep=write('file.txt')),
        cli('select --out the input scores file', 'output paths',
            'select {c}/loss.npz --keep 0.5 --remove lowest --out {c}/loss.npz', prep=cp('loss.npz'),
            expected='clean error (the scores would be overwritten by the selection)'),
        cli('select --out in new nested folders', 'output paths',
            'select inputs/loss.npz --keep 0.5 --remove lowest --out {c}/a/b/sel.npz',
            expected='works: written, loads', check=selection_check('a/b/sel.npz', 718)),
        cli('select --out a read-only folder', 'output paths',
            'select inputs/loss.npz --keep 0.5 --remove lowest --out {c}/ro/sel.npz', prep=readonly('ro')),
    ]

def embed_cases():
    o, dg = '--out {c}/e.npy', '--data digits'
    a = lambda name, args, cat='arguments', **kw: cli(name, cat, f'embed {args}', **kw)
    return [
        a('embed --embedder unknown', f'--embedder foo {dg} {o}'),
        a('embed pixels-pca:0', f'--embedder pixels-pca:0 {dg} {o}'),
        a('embed pixels-pca:-3', f'--embedder pixels-pca:-3 {dg} {o}'),
        a('embed pixels-pca:abc', f'--embedder pixels-pca:abc {dg} {o}'),
        a('embed pixels-pca:100 (more than the 64 pixels)', f'--embedder pixels-pca:100 {dg} {o}'),
        a('embed pixels-pca without --data', f'--embedder pixels-pca:8 {o}'),
        a('embed model: of a missing run', f'--embedder model:{{c}}/missing {o}'),
        a('embed model: on 28x28 images', f'--embedder model:inputs/run --data npz:inputs/big28.npz {o}', 'mismatches'),
        a('embed model: of a truncated model.pth', f'--embedder model:{{c}}/run {o}', 'damaged inputs',
          prep=[cp('run'), cut('run/model.pth')], mention='model.pth'),
        a('embed torchscript: of a missing file', f'--embedder torchscript:{{c}}/missing.pt {dg} {o}'),
        a('embed torchscript: of a file that is none', f'--embedder torchscript:inputs/digits.npz {dg} {o}'),
        a('embed timm: unknown model', f'--embedder timm:no_such_net:random {dg} {o}'),
        a('embed timm: weights file missing', f'--embedder timm:resnet18:{{c}}/missing.pth {dg} {o}'),
        a('embed timm: weights file that is none', f'--embedder timm:resnet18:inputs/digits.npz {dg} {o}'),
        a('embed timm --size 0', f'--embedder timm:resnet18:random --size 0 {dg} {o}'),
        a('embed --bs 0', f'--embedder pixels-pca:8 {dg} --bs 0 {o}'),
        a('embed --bs -1', f'--embedder pixels-pca:8 {dg} --bs -1 {o}'),
        a('embed --dtype float64', f'--embedder pixels-pca:8 {dg} --dtype float64 {o}'),
        a('embed --data unknown source', f'--embedder pixels-pca:8 --data foo:bar {o}'),
        a('embed --data npz: of a missing file', f'--embedder pixels-pca:8 --data npz:{{c}}/missing.npz {o}'),
        a('embed --data run: of a missing run', f'--embedder pixels-pca:8 --data run:{{c}}/missing {o}'),
        a('embed --fit on images of another shape', f'--embedder pixels-pca:8 {dg} --fit npz:inputs/big28.npz {o}',
          'mismatches'),
        a('embed --fit unknown source', f'--embedder pixels-pca:8 {dg} --fit foo:bar {o}'),
        a('embed --data a truncated .npz', f'--embedder pixels-pca:8 --data npz:{{c}}/bad.npz {o}', 'damaged inputs',
          prep=[cp('digits.npz', 'bad.npz'), cut('bad.npz')], mention='bad.npz'),
        a('embed --out .txt', f'--embedder pixels-pca:8 {dg} --out {{c}}/e.txt', 'output paths'),
        a('embed --out without suffix', f'--embedder pixels-pca:8 {dg} --out {{c}}/e', 'output paths'),
        a('embed --out .npz', f'--embedder pixels-pca:8 {dg} --out {{c}}/e.npz', 'output paths'),
        a('embed --out an existing folder', f'--embedder pixels-pca:8 {dg} --out {{c}}/d', 'output paths',
          prep=mkdir('d')),
        a('embed --out under a file', f'--embedder pixels-pca:8 {dg} --out {{c}}/file.txt/e.npy', 'output paths',
          prep=write('file.txt')),
        a('embed --out a read-only folder', f'--embedder pixels-pca:8 {dg} --out {{c}}/ro/e.npy', 'output paths',
          prep=readonly('ro')),
        a('embed --out in new nested folders', f'--embedder pixels-pca:8 {dg} --out {{c}}/a/b/e.npy', 'output paths',
          expected='works: written, loads', check=embeddings_check('a/b/e.npy', 1797, 8)),
        a('embed over the leftovers of a stopped embed of other settings', f'--embedder pixels-pca:8 {dg} {o}', 'reuse',
          prep=[write('e.npy.partial-vectors.npy', b'\x93NUMPY garbage'),
                write('e.npy.partial.json', '{"meta": {"embedder": "pixels-pca:16"}, "done": 256}')],
          expected='works: starts afresh, loads', check=embeddings_check('e.npy', 1797, 8)),
    ]

def extrapolate_cases():
    base = 'extrapolate --source-scores inputs/loss.npz --source-emb inputs/src_emb.npy'
    full, o = f'{base} --dest-emb inputs/emb.npy', '--out {c}/x.npz'
    a = lambda name, args, cat='arguments', **kw: cli(name, cat, f'{full} {args} {o}', **kw)
    m = lambda name, args, cat='mismatches', **kw: cli(name, cat, f'extrapolate {args} {o}', **kw)
    return [
        a('extrapolate --k 0', '--k 0'),
        a('extrapolate --k -1', '--k -1'),
        a('extrapolate --k more than the source', '--k 5000'),
        a('extrapolate --k not a number', '--k abc'),
        a('extrapolate --folds 1', '--folds 1 --k auto'),
        a('extrapolate --metric unknown', '--metric manhattan'),
        a('extrapolate --index ivf --nlist 0', '--index ivf --nlist 0'),
        a('extrapolate --index ivf --nprobe 0', '--index ivf --nprobe 0'),
        a('extrapolate --index ivf --engine torch', '--index ivf --engine torch'),
        a('extrapolate --method regress without --dest-data', '--method regress'),
        a('extrapolate --repeats 0', '--k auto --repeats 0'),
        a('extrapolate --half-runs naming one run', '--k auto --half-runs inputs/run'),
        a('extrapolate --half-runs naming the source run twice', '--k auto --half-runs inputs/run inputs/run'),
        a('extrapolate --dest-run missing', '--k auto --dest-run {c}/missing'),
        cli('extrapolate --halves an existing file', 'output paths', f'{full} --k auto --halves {{c}}/halves {o}',
            prep=write('halves')),
        cli('extrapolate --dest-emb without --out', 'arguments', full),
        cli('extrapolate --out .txt', 'output paths', f'{full} --out {{c}}/x.txt'),
        cli('extrapolate --out the source scores file', 'output paths',
            'extrapolate --source-scores {c}/loss.npz --source-emb inputs/src_emb.npy --dest-emb inputs/emb.npy '
            '--out {c}/loss.npz', prep=cp('loss.npz'),
            expected='clean error (the source scores would be overwritten)'),
        cli('extrapolate --out in new nested folders', 'output paths', f'{full} --out {{c}}/a/b/x.npz',
            expected='works: 1797 scores written, loads', check=scores_check('a/b/x.npz', method='loss')),
        m('extrapolate a missing scores file', '--source-scores {c}/missing.npz --source-emb inputs/src_emb.npy '
          '--dest-emb inputs/emb.npy', 'arguments'),
        m('extrapolate a missing source embedding', '--source-scores inputs/loss.npz --source-emb {c}/missing.npy '
          '--dest-emb inputs/emb.npy', 'arguments'),
        m('extrapolate to embeddings of another dimension', '--source-scores inputs/loss.npz '
          '--source-emb inputs/src_emb.npy --dest-emb inputs/emb16.npy'),
        m('extrapolate to a plain .npy of another dimension', '--source-scores inputs/loss.npz '
          '--source-emb inputs/src_emb.npy --dest-emb inputs/plain16.npy'),
        m('extrapolate from embeddings of other samples', '--source-scores inputs/loss.npz --source-emb inputs/emb.npy '
          '--dest-emb inputs/emb.npy'),
        m('extrapolate scores of other data', '--source-scores inputs/margin_other.npz --source-emb inputs/src_emb.npy '
          '--dest-emb inputs/emb.npy'),
        m('extrapolate to a plain .npy with NaN rows', '--source-scores inputs/loss.npz '
          '--source-emb inputs/src_emb.npy --dest-emb inputs/plain_nan.npy'),
        m('extrapolate from a 1-D plain .npy', '--source-scores inputs/loss.npz --source-emb inputs/plain1d.npy '
          '--dest-emb inputs/emb.npy'),
        m('extrapolate to a scores file as embeddings', '--source-scores inputs/loss.npz '
          '--source-emb inputs/src_emb.npy --dest-emb inputs/loss.npz', 'arguments'),
        m('extrapolate from a truncated embeddings .npy', '--source-scores inputs/loss.npz --source-emb {c}/src.npy '
          '--dest-emb inputs/emb.npy', 'damaged inputs',
          prep=[cp('src_emb.npy', 'src.npy'), cp('src_emb.meta.npz', 'src.meta.npz'), cut('src.npy')],
          mention='src.npy'),
        m('extrapolate from a truncated embeddings .meta.npz', '--source-scores inputs/loss.npz '
          '--source-emb {c}/src.npy --dest-emb inputs/emb.npy', 'damaged inputs',
          prep=[cp('src_emb.npy', 'src.npy'), cp('src_emb.meta.npz', 'src.meta.npz'), cut('src.meta.npz')],
          mention='src.meta.npz'),
    ]

def evaluate_cases():
    e = 'evaluate {c}/run'
    a = lambda name, args, cat='arguments', **kw: cli(name, cat, f'{e} {args}', prep=kw.pop('prep', cp('run')), **kw)
    d = lambda name, prep, f: cli(name, 'damaged inputs', f'{e} --steps 2 --n 20', prep=[cp('run')] + prep, mention=f)
    return [
        a('evaluate --eps -1', '--eps -1'),
        a('evaluate --eps nan', '--eps nan --steps 2 --n 20'),
        a('evaluate --steps 0', '--steps 0'),
        a('evaluate --restarts 0', '--restarts 0'),
        a('evaluate --n 0', '--n 0'),
        a('evaluate --n -5', '--n -5'),
        a('evaluate --bs 0', '--bs 0 --steps 2'),
        a('evaluate --alpha -1', '--alpha -1 --steps 2 --n 20'),
        a('evaluate --attack unknown', '--attack cw'),
        a('evaluate --norm unknown', '--norm l1'),
        a('evaluate --data unknown source', '--data foo:bar'),
        a('evaluate --data npz: of a missing file', '--data npz:{c}/missing.npz'),
        a('evaluate on 28x28 images', '--data npz:inputs/big28.npz --steps 2', 'mismatches'),
        a('evaluate on data with more classes than the model', '--data npz:{c}/more.npz --steps 2', 'mismatches',
          prep=[cp('run'), npz('more.npz', image=lambda i, l: i[:200],
                                label=lambda i, l: _set(_set(l[:200].copy(), slice(0, 20), 10), slice(20, 40), 11))]),
        cli('evaluate a missing run directory', 'arguments', 'evaluate {c}/missing'),
        cli('evaluate a file as the run', 'arguments', 'evaluate {c}/digits.npz', prep=cp('digits.npz')),
        cli('evaluate a stopped run (no model.pth)', 'damaged inputs', 'evaluate {c}/stopped --steps 2',
            prep=cp('stopped')),
        cli('evaluate a run without validation data', 'arguments', 'evaluate {c}/run_v0 --steps 2',
            prep=cp('run_v0')),
        d('evaluate a truncated model.pth', [cut('run/model.pth')], 'model.pth'),
        d('evaluate a zero-byte model.pth', [zero('run/model.pth')], 'model.pth'),
        d('evaluate a model.pth that holds a checkpoint', [lambda ctx: shutil.copy2(
            ctx.work/'inputs/stopped/checkpoint.pth', ctx.c/'run/model.pth')], 'model.pth'),
        d('evaluate a run whose config.json is empty', [zero('run/config.json')], 'config.json'),
        d('evaluate a run whose metrics.json is empty', [zero('run/metrics.json')], 'metrics.json'),
        d('evaluate a run whose metrics.json is garbage', [garble('run/metrics.json')], 'metrics.json'),
        cli('evaluate twice with the same settings', 'reuse', f'{e} --attack clean',
            prep=[cp('run'), run_first(f'{e} --attack clean')], expected='works: one clean record, not two',
            check=evaluations_check('run', 'clean', 1)),
    ]

def figures_demo_cases():
    f = lambda name, args, cat='arguments', **kw: cli(name, cat, f'figures {args}', **kw)
    dm = 'demo --out {c}/demo --seeds 1 --epochs 2 --prune-epoch 1 --pgd-steps 2'
    g = lambda name, args: cli(name, 'arguments', f'{dm} {args}')
    return [
        f('figures of a missing run', '{c}/missing --out {c}/figs'),
        f('figures of a stopped run', '{c}/stopped --out {c}/figs', 'damaged inputs', prep=cp('stopped')),
        f('figures of a run whose metrics.json is empty', '{c}/run --out {c}/figs', 'damaged inputs',
          prep=[cp('run'), zero('run/metrics.json')], mention='metrics.json'),
        f('figures of a data file', 'inputs/digits.npz --out {c}/figs'),
        f('figures without run directories', '--out {c}/figs'),
        f('figures --out an existing file', 'inputs/run --out {c}/file.txt', 'output paths', prep=write('file.txt')),
        f('figures --out under a file', 'inputs/run --out {c}/file.txt/figs', 'output paths', prep=write('file.txt')),
        f('figures --out in new nested folders', 'inputs/run --out {c}/a/b/figs', 'output paths',
          expected='works: results.csv and figures written', check=figures_check('a/b/figs')),
        g('demo --keep 0', '--keep 0'),
        g('demo --keep 1.5', '--keep 1.5'),
        g('demo --seeds 0', '--seeds 0'),
        cli('demo --epochs 0', 'arguments', 'demo --out {c}/demo --seeds 1 --epochs 0 --prune-epoch 0'),
        g('demo --prune-epoch beyond --epochs', '--prune-epoch 5'),
        g('demo --eps -1', '--eps -1'),
        g('demo --pgd-steps 0', '--pgd-steps 0'),
        cli('demo --out an existing file', 'output paths', 'demo --out {c}/file.txt --seeds 1 --epochs 2 '
            '--prune-epoch 1 --pgd-steps 2', prep=write('file.txt')),
    ]

# ---------------------------------------------------------------------------------------------------------------
# Python API cases (expressions evaluated with `c` the case folder, `I` the inputs folder)

def api_data_cases():
    d = lambda name, expr, cat='damaged inputs', **kw: api(name, cat, expr, **kw)
    return [
        d('load_npz of a missing file', "load_npz(c/'missing.npz')", 'arguments'),
        d('load_npz of a zero-byte file', "load_npz(c/'bad.npz')", prep=[cp('digits.npz', 'bad.npz'), zero('bad.npz')]),
        d('load_npz of a truncated file', "load_npz(c/'bad.npz')", prep=[cp('digits.npz', 'bad.npz'), cut('bad.npz')]),
        d('load_npz of garbage', "load_npz(c/'bad.npz')", prep=[cp('digits.npz', 'bad.npz'), garble('bad.npz')]),
        d('load_npz with the keys images/labels', "load_npz(c/'bad.npz')",
          prep=npz('bad.npz', images=lambda i, l: i, labels=lambda i, l: l)),
        d('load_npz of an .npy named .npz', "load_npz(c/'bad.npz')", prep=npy_as('bad.npz')),
        d('load_npz n_classes below the labels', "load_npz(I/'digits.npz', n_classes=5)", 'arguments'),
        d('ArrayDataset of nested lists', "ArrayDataset(images.tolist(), labels)", 'arguments'),
        d('ArrayDataset of a torch tensor', "ArrayDataset(torch.from_numpy(images), labels)", 'arguments'),
        d('ArrayDataset of float images', "ArrayDataset(images / 255, labels)", 'arguments'),
        d('ArrayDataset of channels-first images', "ArrayDataset(images[:, None], labels)", 'arguments'),
        d('ArrayDataset with a stray label 99', "ArrayDataset(images, np.r_[99, labels[1:]])", 'arguments'),
        d('ArrayDataset with a label -1', "ArrayDataset(images, np.r_[-1, labels[1:]])", 'arguments'),
        d('ArrayDataset with a label short', "ArrayDataset(images, labels[:-1])", 'arguments'),
        d('ArrayDataset of no images', "ArrayDataset(images[:0], labels[:0])", 'arguments'),
        d('ArrayDataset n_classes below the labels', "ArrayDataset(images, labels, n_classes=5)", 'arguments'),
        d('ArrayDataset of float labels', "ArrayDataset(images, labels.astype(float))", 'arguments'),
        api('ArrayDataset of labels as a list', 'arguments', "ArrayDataset(images, labels.tolist())",
            expected='works: a list of labels is taken as an array',
            check=value_check(lambda ds: len(ds) == 1797, 'ds')),
        d('load_dataset unknown source', "load_dataset('foo:bar')", 'arguments'),
        d('load_dataset npz: without a path', "load_dataset('npz:')", 'arguments'),
        d('load_dataset of a Path, not a spec', "load_dataset(I/'digits.npz')", 'arguments'),
    ]

def api_run_cases():
    t = lambda name, cfg, **kw: api(name, 'arguments', f"train_run(RunConfig({cfg}), c/'run', quiet=True)", **kw)
    return [
        t('train_run epochs=0', "epochs=0"),
        t('train_run epochs as text', "epochs='2'"),
        t('train_run eps as text', "epochs=1, eps='0.2'"),
        t('train_run lr_max as text', "epochs=1, lr_max='0.01'"),
        t('train_run epochs=2.5', "epochs=2.5"),
        t('train_run bs=0', "epochs=1, bs=0"),
        t('train_run trainer unknown', "epochs=1, trainer='pgdx'"),
        t('train_run arch unknown', "epochs=1, arch='resnet50'"),
        t('train_run keep without prune', "epochs=1, keep=0.5"),
        t('train_run prune_epoch at the last epoch', "epochs=2, prune='lowest', keep=0.5, prune_epoch=2"),
        t('train_run trainer_args unknown setting', "epochs=1, trainer='pgd', trainer_args={'gamma': 1}"),
        t('train_run valid=1.5', "epochs=1, valid=1.5"),
        t('train_run n_classes below the labels', "epochs=1, n_classes=5"),
        t('train_run data of garbage .npz', "'npz:' + str(c/'bad.npz'), epochs=1",
          prep=[cp('digits.npz', 'bad.npz'), garble('bad.npz')]),
        api('train_run out an existing file', 'output paths',
            "train_run(RunConfig(epochs=1), c/'file.txt', quiet=True)",
            prep=write('file.txt')),
    ]

def api_stage_cases():
    s = lambda name, expr, cat='arguments', **kw: api(name, cat, expr, **kw)
    ev = lambda name, kw: s(name, f"evaluate_run(c/'run', {kw}, progress=False)", prep=cp('run'))
    emb = "embed_data('pixels-pca:8', c/'e.npy', data='digits', progress=False, "
    x = "extrapolate_files(I/'loss.npz', I/'src_emb.npy', I/'emb.npy', c/'x.npz', progress=False, report=print, "
    return [
        s('score_run out .txt', "score_run(I/'run', 'loss', out=c/'s.txt')"),
        s('score_run method unknown', "score_run(I/'run', 'foo', out=c/'s.npz')"),
        s('score_run of a missing run', "score_run(c/'missing', 'loss', out=c/'s.npz')"),
        s('score_run du with 2 epochs', "score_run(I/'run', 'du', out=c/'s.npz')"),
        s('score_run loss epoch=10', "score_run(I/'run', 'loss', epoch=10, out=c/'s.npz')"),
        s('score_run margin on 28x28 images',
          "score_run(I/'run', 'margin', data='npz:' + str(I/'big28.npz'), out=c/'s.npz', progress=False)"),
        s('select_file keep=0', "select_file(I/'loss.npz', 0, 'lowest', out=c/'sel.npz')"),
        s('select_file keep=True', "select_file(I/'loss.npz', True, 'lowest', out=c/'sel.npz')"),
        s('select_file keep as text', "select_file(I/'loss.npz', '0.5', 'lowest', out=c/'sel.npz')"),
        s('select_file keep=40 (a count)', "select_file(I/'loss.npz', 40, 'lowest', out=c/'sel.npz')"),
        s('select_file remove unknown', "select_file(I/'loss.npz', 0.5, 'top', out=c/'sel.npz')"),
        s('select_file of the embeddings .npy', "select_file(I/'emb.npy', 0.5, 'lowest', out=c/'sel.npz')"),
        ev('evaluate_run eps=-1', "eps=-1"),
        ev('evaluate_run eps=nan', "eps=float('nan'), steps=2, n=20"),
        ev('evaluate_run steps=0', "steps=0"),
        ev('evaluate_run attack unknown', "attack='cw'"),
        ev('evaluate_run n=0', "n=0"),
        ev('evaluate_run bs=0', "bs=0, steps=2"),
        ev('evaluate_run eps as text', "eps='0.1', steps=2, n=20"),
        s('embed_data pixels-pca:0', emb.replace('pixels-pca:8', 'pixels-pca:0') + ")"),
        s('embed_data embedder unknown', emb.replace('pixels-pca:8', 'foo') + ")"),
        s('embed_data out .txt', emb.replace("e.npy", "e.txt") + ")"),
        s('embed_data dtype float64', emb + "dtype='float64')"),
        s('embed_data bs=0', emb + "bs=0)"),
        s('embed of a model on 28x28 images', "embed(model_embedder(model), ds28, progress=False)", 'mismatches'),
        s('extrapolate_files k=0', x + "k=0)"),
        s('extrapolate_files k as text', x + "k='five')"),
        s('extrapolate_files folds=1', x + "folds=1, k='auto')"),
        s('extrapolate_files metric unknown', x + "metric='cosin')"),
    ]

def api_record_cases():
    r = lambda name, expr, cat='damaged inputs', **kw: api(name, cat, expr, **kw)
    return [
        r('Scores.load of a missing file', "Scores.load(c/'missing.npz')", 'arguments'),
        r('Scores.load of a truncated file', "Scores.load(c/'s.npz')", prep=[cp('loss.npz', 's.npz'), cut('s.npz')]),
        r('Scores.load of a zero-byte file', "Scores.load(c/'s.npz')", prep=[cp('loss.npz', 's.npz'), zero('s.npz')]),
        r('Scores.load of a selection file', "Scores.load(I/'sel.npz')", 'arguments'),
        r('Scores.load of an embeddings .npy', "Scores.load(I/'emb.npy')", 'arguments'),
        r('Selection.load of a scores file', "Selection.load(I/'loss.npz')", 'arguments'),
        r('Selection.load of garbage', "Selection.load(c/'sel.npz')", prep=[cp('sel.npz'), garble('sel.npz')]),
        r('Embeddings.load of a missing file', "Embeddings.load(c/'missing.npy')", 'arguments'),
        r('Embeddings.load of a truncated .npy', "Embeddings.load(c/'e.npy')",
          prep=[cp('emb.npy', 'e.npy'), cp('emb.meta.npz', 'e.meta.npz'), cut('e.npy')]),
        r('Embeddings.load of a scores .npz', "Embeddings.load(I/'loss.npz')", 'arguments'),
        r('Scores with ids beyond the data', "Scores(np.zeros(3), np.array([0, 1, 5000]), "
          "dict(method='loss', params={}, data=dict(name='digits', n=1437)))", 'arguments'),
    ]

def api_attack_cases():
    a = lambda name, expr: api(name, 'arguments', expr)
    return [
        a('pgd eps=-1', "pgd(model, x, y, eps=-1, alpha=0.05)"),
        a('pgd steps=0', "pgd(model, x, y, 0.2, 0.05, steps=0)"),
        a('pgd norm unknown', "pgd(model, x, y, 0.2, 0.05, norm='l1')"),
        a('pgd per-sample eps of the wrong length', "pgd(model, x, y, torch.full((3,), 0.2), 0.05)"),
        a('pgd labels of the wrong length', "pgd(model, x, y[:-1], 0.2, 0.05)"),
        a('pgd on numpy arrays', "pgd(model, x.numpy(), y.numpy(), 0.2, 0.05)"),
        a('pgd on images of another shape', "pgd(model, x28, y, 0.2, 0.05)"),
        a('deepfool norm unknown', "deepfool(model, x, y, norm='l3')"),
        a('deepfool steps=0', "deepfool(model, x, y, steps=0)"),
        a('deepfool overshoot=-1', "deepfool(model, x, y, overshoot=-1)"),
        a('deepfool candidates=10 of 10 classes', "deepfool(model, x, y, candidates=10)"),
        a('deepfool on images of another shape', "deepfool(model, x28, y)"),
        a('deepfool on numpy arrays', "deepfool(model, x.numpy(), y.numpy())"),
        a('evaluate pgd without eps', "evaluate(model, ds, progress=False)"),
        a('evaluate() on 28x28 images', "evaluate(model, ds28, attack='clean', progress=False)"),
        a('evaluate n=0', "evaluate(model, ds, attack='clean', n=0, progress=False)"),
        a('evaluate restarts=0', "evaluate(model, ds, eps=0.1, restarts=0, progress=False)"),
        a('evaluate eps=nan', "evaluate(model, ds, eps=float('nan'), steps=2, n=20, progress=False)"),
    ]

def pool_check(ctx, r):
    "A mixed run: its epochs saw generated images, its dynamics cover the real and the generated ids"
    import pandas as pd
    from robust_prune.scores import open_dynamics
    try: ep, dyn = pd.read_csv(ctx.c/'run'/'epochs.csv'), open_dynamics(ctx.c/'run'/'dynamics')
    except Exception as e: return 'data loss', f'the run does not load: {e}'
    if not (ep.seen_aux > 0).all(): return 'wrong', f'epochs saw no generated images: {ep.seen_aux.tolist()}'
    return None if dyn.n == 1437 + 400 else ('wrong', f'dynamics cover {dyn.n} ids, not 1837')

def converted_check(ctx, r):
    "The converted pool holds the compressed pool's images and labels"
    from robust_prune.data import load_npz
    try: got, want = load_npz(ctx.c/'out.npz'), np.load(ctx.work/'inputs'/'pool_packed.npz')
    except Exception as e: return 'data loss', f'out.npz does not load: {e}'
    same = np.array_equal(np.asarray(got.images), want['image']) and np.array_equal(got.labels, want['label'])
    return None if same else ('wrong', 'the converted images or labels differ from the source')

def pool_cases():
    "Generated pools: mixing them into training, pruning only them, converting them"
    t = 'train --data digits --epochs 1 --aux-data npz:inputs/pool.npz'
    o = '--out {c}/run'
    return [
        cli('train --aux-fraction 1.0', 'arguments', f'{t} --aux-fraction 1.0 {o}'),
        cli('train --aux-fraction -0.1', 'arguments', f'{t} --aux-fraction -0.1 {o}'),
        cli('train --aux-fraction without --aux-data', 'arguments',
            f'train --data digits --epochs 1 --aux-fraction 0.5 {o}'),
        cli('train --epoch-length unknown', 'arguments', f'{t} --epoch-length all {o}'),
        cli('train --aux-data of 28x28 images into 8x8 digits', 'mismatches',
            f'train --data digits --epochs 1 --aux-data npz:inputs/big28.npz {o}'),
        cli('train --aux-data with 12 classes into 10', 'mismatches',
            f'train --data digits --epochs 1 --aux-data npz:{{c}}/twelve.npz {o}',
            prep=npz('twelve.npz', image=lambda i, l: i[:240], label=np.arange(240) % 12)),
        cli('train --aux-data of a missing pool', 'arguments',
            f'train --data digits --epochs 1 --aux-data npz:{{c}}/missing.npz {o}'),
        cli('train --aux-data of a truncated pool', 'damaged inputs',
            f'train --data digits --epochs 1 --aux-data npz:{{c}}/pool.npz {o}', prep=[cp('pool.npz'), cut('pool.npz')],
            mention='pool.npz'),
        cli('train with a generated pool mixed in', 'legitimate uses', f'{t} --aux-fraction 0.5 {o}',
            expected='works: generated images in every epoch, dynamics over both', check=pool_check),
        cli('select --pool aux, scores without generated data', 'mismatches',
            'select inputs/loss.npz --keep 0.5 --remove lowest --pool aux --out {c}/sel.npz'),
        cli('select --pool unknown', 'arguments',
            'select inputs/loss.npz --keep 0.5 --remove lowest --pool generated --out {c}/sel.npz'),
        cli('convert a compressed pool', 'legitimate uses', 'convert inputs/pool_packed.npz {c}/out.npz',
            expected='works: the same images, memory-mapped', check=converted_check),
        cli('convert onto an existing file without --force', 'output paths',
            'convert inputs/pool_packed.npz {c}/out.npz', prep=write('out.npz', 'keep me\n')),
        cli('convert a missing pool', 'arguments', 'convert {c}/missing.npz {c}/out.npz'),
        cli('convert --out .txt', 'output paths', 'convert inputs/pool_packed.npz {c}/out.txt'),
        cli('convert a truncated compressed pool', 'damaged inputs', 'convert {c}/p.npz {c}/out.npz',
            prep=[cp('pool_packed.npz', 'p.npz'), cut('p.npz')], mention='p.npz'),
        cli('convert float images', 'arguments', 'convert {c}/f.npz {c}/out.npz',
            prep=npz('f.npz', image=np.zeros((4, 8, 8), np.float32), label=np.arange(4))),
        cli('convert an empty folder', 'arguments', 'convert {c}/empty {c}/out.npz', prep=mkdir('empty')),
        cli('convert onto a full disk', 'disk', 'convert inputs/pool_packed.npz {c}/out.npz', limit_kb=8,
            serial=True, allow_new=True),
    ]

def all_cases(root_writes:bool):
    cases = (train_cases() + train_output_cases() + data_cases() + damaged_run_cases() + special_cases()
             + score_cases() + score_damage_cases() + select_cases() + embed_cases() + extrapolate_cases()
             + evaluate_cases() + figures_demo_cases() + pool_cases()
             + api_data_cases() + api_run_cases() + api_stage_cases() + api_record_cases() + api_attack_cases())
    if root_writes:
        why = 'not run: this sandbox runs as root, where a chmod 555 folder does not stop writes'
        for case in cases:
            if 'read-only' in case.name: case.skip = why
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup: raise SystemExit(f'duplicate case names: {dup}')
    return cases

# ---------------------------------------------------------------------------------------------------------------
# Running and classifying

@dataclass
class Result:
    rc:int|None=None
    out:str=''
    err:str=''
    timed_out:bool=False
    value:object=None
    exc:BaseException|None=None

def _digest(p:Path):
    return hashlib.sha1(p.read_bytes()).hexdigest()

def snapshot(folder:Path):
    "Every path under `folder`: folders, `.lock` files (whose content is the holder's PID), files by size and hash"
    out = {}
    if not folder.exists(): return out
    for p in sorted(folder.rglob('*')):
        rel = p.relative_to(folder).as_posix()
        out[rel] = 'dir' if p.is_dir() else 'lock' if p.name == '.lock' else (p.stat().st_size, _digest(p))
    return out

def shared_snapshot(work:Path):
    "The shared inputs, and what else lies in WORK besides the case folders"
    top = {p.name: 'dir' if p.is_dir() else p.stat().st_size
           for p in work.iterdir() if p.name not in ('cases', 'inputs')}
    return dict(inputs=snapshot(work/'inputs'), top=top)

def diff(before:dict, after:dict):
    changed = [k for k in before if k in after and before[k] != after[k]]
    removed = [k for k in before if k not in after]
    new = [k for k in after if k not in before]
    return changed, removed, new

def stderr_lines(err:str):
    "The lines of stderr, Python warnings (and the source line printed under each) left out"
    lines, in_warning = [], False
    for line in err.splitlines():
        if re.search(r'\w*Warning: ', line) and not line.startswith('robust-prune'): in_warning = True; continue
        if in_warning and line.startswith((' ', '\t')): continue
        in_warning = False
        if line.strip(): lines.append(line)
    return lines

def child_env():
    "The environment of the commands: one thread each (cases run side by side on few cores; more only thrash)"
    return dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')

def limit_fsize(kb:int):
    "A preexec_fn: writes beyond `kb` KB fail with EFBIG (SIGXFSZ ignored, so the process is not killed)"
    def f():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (kb * 1024, kb * 1024))
    return f

def argv(case:Case, ctx:Ctx): return shlex.split(case.run.format(c=ctx.rel))

def command_text(case:Case, ctx:Ctx):
    if case.interface == 'api': return case.run
    text = shlex.join(['robust-prune', *argv(case, ctx)])
    if case.stdout_file: text += f' > {ctx.rel}/{case.stdout_file}'
    if case.limit_kb: text = f'ulimit -f {case.limit_kb} && {text}'
    if 'lock' in case.name: text = f'(lock of the run held by another process) {text}'
    return text

def run_cli(case:Case, ctx:Ctx):
    kw = dict(cwd=ctx.work, text=True, timeout=case.timeout, stdin=subprocess.DEVNULL, env=child_env())
    if case.limit_kb: kw['preexec_fn'] = limit_fsize(case.limit_kb)
    try:
        if case.stdout_file:
            with open(ctx.c/case.stdout_file, 'w') as log:
                r = subprocess.run([RP, *argv(case, ctx)], stdout=log, stderr=subprocess.PIPE, **kw)
            return Result(r.returncode, (ctx.c/case.stdout_file).read_text(), r.stderr)
        r = subprocess.run([RP, *argv(case, ctx)], capture_output=True, **kw)
        return Result(r.returncode, r.stdout, r.stderr)
    except subprocess.TimeoutExpired as e:
        return Result(None, e.stdout or '', e.stderr or '', timed_out=True)

def run_api(case:Case, ctx:Ctx, ns:dict):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            value = eval(case.run, {**ns, 'c': ctx.c})
        return Result(0, out.getvalue(), err.getvalue(), value=value)
    except Exception as e:
        return Result(1, out.getvalue(), err.getvalue(), exc=e)

def _said(text:str):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else '(nothing printed)'

def _outs(case:Case, ctx:Ctx):
    "The paths (in WORK) the command names as its outputs"
    if case.interface == 'api': return []
    a = argv(case, ctx)
    return [ctx.work/a[i + 1] for i, x in enumerate(a[:-1]) if x == '--out']

def went_ahead(case:Case, ctx:Ctx, r:Result, changed:list):
    "Outcome of a mistake that was accepted: `data loss` if it said it wrote a file that is not there or not whole"
    said = _said(r.out) if case.interface == 'cli' else f'returned {r.value!r:.100}'
    wrote = re.search(r'\b(wrote|saved)\b', r.out)
    for o in _outs(case, ctx):
        if wrote and (not o.exists() or not loads(o)):
            return 'data loss', f'exit 0, but {o.relative_to(ctx.work)} is missing or does not load: {said}'
    changed = [k for k in changed if not k.endswith('.lock')]
    also = f' [and it replaced {", ".join(changed[:3])}]' if changed else ''
    return 'wrong', f'{"exit 0" if case.interface == "cli" else "accepted"}: {said}{also}'

def refused(case:Case, ctx:Ctx, msg:str, changed, removed, new):
    "Outcome of a refusal: clean, unless it changed files, left files behind, or does not name what it must"
    if changed or removed: return 'data loss', f'{msg} [but changed or removed: {", ".join((changed + removed)[:3])}]'
    c = ctx.c
    bad = [k for k in new if not case.allow_new or Path(k).name.startswith('.') and Path(k).name != '.lock'
           or (c/k).is_file() and (c/k).stat().st_size == 0]
    if bad: return 'wrong', f'{msg} [but left behind: {", ".join(bad[:4])}{" ..." if len(bad) > 4 else ""}]'
    mention = case.mention(ctx) if callable(case.mention) else case.mention
    if mention and mention not in msg: return 'wrong', f'{msg} [does not name {mention}]'
    return 'clean error', msg

def classify(case:Case, ctx:Ctx, r:Result, before:dict, after:dict):
    changed, removed, new = diff(before, after)
    works = case.expected.startswith('works')
    if r.timed_out: return 'wrong', f'still running after {case.timeout} s (stopped): it went to work'
    if case.interface == 'api' and r.exc is not None:
        from robust_prune.core import InputError
        text = f'{type(r.exc).__name__}: {r.exc}'
        if not isinstance(r.exc, InputError): return 'traceback', text
        if '\n' in str(r.exc).strip(): return 'wrong', f'a message of several lines: {text}'
        return ('wrong', f'refused: {text}') if works else refused(case, ctx, text, changed, removed, new)
    if case.interface == 'cli' and r.rc != 0:
        lines = stderr_lines(r.err)
        if r.rc != 2 or 'Traceback' in r.err or len(lines) != 1:
            how = f'killed by signal {-r.rc}' if r.rc < 0 else f'exit {r.rc}'
            return 'traceback', f'{how}: {lines[-1] if lines else "(no message)"}'
        return ('wrong', f'refused: {lines[0]}') if works else refused(case, ctx, lines[0], changed, removed, new)
    if not works: return went_ahead(case, ctx, r, changed)
    bad = case.check(ctx, r) if case.check else None
    return bad or ('works', ctx.state.get('note') or _said(r.out if case.interface == 'cli' else repr(r.value)))

def one_case(i:int, case:Case, work:Path, ns:dict):
    "Run one case in its own folder; its row of the table"
    ctx = Ctx(work, work/'cases'/f'{i:03d}', f'cases/{i:03d}')
    ctx.c.mkdir(parents=True)
    row = dict(case=case.name, interface=case.interface, category=case.category, command=command_text(case, ctx),
               expected=case.expected)
    if case.skip: return dict(row, outcome='not run', seen=case.skip)
    try:
        try:
            for p in case.prep: p(ctx)
        except Exception as e: return dict(row, outcome='not run', seen=f'its preparation failed: {e}')
        before = snapshot(ctx.c)
        r = run_cli(case, ctx) if case.interface == 'cli' else run_api(case, ctx, ns)
        for f in ctx.cleanups[::-1]: f()
        ctx.cleanups.clear()
        outcome, seen = classify(case, ctx, r, before, snapshot(ctx.c))
    finally:
        for f in ctx.cleanups[::-1]: f()
    return dict(row, outcome=outcome, seen=seen)

# ---------------------------------------------------------------------------------------------------------------
# Setup: good inputs in WORK/inputs

def setup_cmd(work:Path, args:str):
    r = subprocess.run([RP, *shlex.split(args)], cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       env=child_env())
    if r.returncode: raise SystemExit(f'setup failed: robust-prune {args}\n{r.stderr[-2000:]}')

def stopped_run(work:Path):
    "A run stopped (killed) once its first epoch's checkpoint is written"
    out = work/'inputs/stopped'
    p = subprocess.Popen([RP, 'train', '--epochs', '8', '--out', 'inputs/stopped'], cwd=work, env=child_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out/'checkpoint.pth').exists():
        if p.poll() is not None or time.time() > deadline:
            p.kill(); raise SystemExit('setup failed: the run to stop ended or took too long')
        time.sleep(0.05)
    p.kill(); p.wait()
    if (out/'model.pth').exists(): raise SystemExit('setup failed: the run finished before it could be stopped')

def data_files(inp:Path):
    "The digits as an .npz (as the package makes them), the first 1000 of them, and 200 of them at 28x28"
    from sklearn.datasets import load_digits
    d = load_digits()
    DIG['images'] = np.round(d.images * (255 / 16)).astype(np.uint8)
    DIG['labels'] = d.target.astype(np.int64)
    images, labels = DIG['images'], DIG['labels']
    np.savez(inp/'digits.npz', image=images, label=labels)
    np.savez(inp/'other.npz', image=images[:1000], label=labels[:1000])
    big = np.pad(np.kron(images[:200], np.ones((3, 3), np.uint8)), ((0, 0), (2, 2), (2, 2)))
    np.savez(inp/'big28.npz', image=big, label=labels[:200])
    from robust_prune.data import load_splits
    from robust_prune.pools import stand_in_pool
    pool = stand_in_pool(load_splits('digits')[0], 400, seed=1, progress=False)   # a stand-in generated pool
    np.savez(inp/'pool.npz', image=pool['image'], label=pool['label'])
    np.savez_compressed(inp/'pool_packed.npz', image=pool['image'], label=pool['label'])

def derived_files(inp:Path):
    "Scores with NaN, of a subset of the ids and without labels; plain .npy embeddings of other shapes"
    from robust_prune.scores import Scores
    s = Scores.load(inp/'loss.npz')
    nan = s.score.copy(); nan[::7] = np.nan
    Scores(nan, s.index, s.meta, label=s.label).save(inp/'nan_scores.npz')
    Scores(s.score[:1000], s.index[:1000], s.meta, label=s.label[:1000]).save(inp/'subset_scores.npz')
    Scores(s.score, s.index, s.meta).save(inp/'nolabel_scores.npz')
    rng = np.random.default_rng(0)
    np.save(inp/'plain16.npy', rng.standard_normal((1797, 16)).astype(np.float32))
    bad = rng.standard_normal((1797, 8)).astype(np.float32); bad[5] = np.nan
    np.save(inp/'plain_nan.npy', bad)
    np.save(inp/'plain1d.npy', rng.standard_normal(1437).astype(np.float32))

SETUP = [   # stages of commands (run two at a time), each stage after the one before
    ['train --data digits --epochs 2 --out inputs/run',
     'train --data digits --epochs 2 --record-dynamics both --out inputs/run_both',
     'train --data digits --epochs 1 --valid 0 --out inputs/run_v0', 'STOPPED'],
    ['score inputs/run --method loss --out inputs/loss.npz',
     'score inputs/run --method margin --norm l2 --out inputs/margin_l2.npz',
     'score inputs/run --method margin --norm l2 --data npz:inputs/other.npz --out inputs/margin_other.npz',
     'embed --embedder pixels-pca:8 --data run:inputs/run --out inputs/src_emb.npy',
     'embed --embedder pixels-pca:8 --data digits --fit run:inputs/run --out inputs/emb.npy',
     'embed --embedder pixels-pca:16 --data digits --fit run:inputs/run --out inputs/emb16.npy'],
    ['select inputs/loss.npz --keep 0.5 --remove lowest --out inputs/sel.npz',
     'select inputs/margin_other.npz --keep 0.5 --remove lowest --out inputs/sel_other.npz'],
]

def setup(work:Path, jobs:int):
    inp = work/'inputs'
    inp.mkdir(parents=True)
    data_files(inp)
    with ThreadPoolExecutor(jobs) as pool:
        for stage in SETUP:
            list(pool.map(lambda a: stopped_run(work) if a == 'STOPPED' else setup_cmd(work, a), stage))
    derived_files(inp)

def api_namespace(work:Path):
    "What the API cases' expressions see"
    import torch
    from robust_prune.data import load_npz, ArrayDataset, load_dataset
    from robust_prune.runs import RunConfig, train_run, load_run
    from robust_prune.stages import score_run, select_file, evaluate_run, embed_data
    from robust_prune.transfer import extrapolate_files
    from robust_prune.scores import Scores
    from robust_prune.select import Selection
    from robust_prune.embed import Embeddings, embed, model_embedder
    from robust_prune.attacks import pgd, deepfool
    from robust_prune.evaluate import evaluate
    ns = {k: v for k, v in locals().items() if k != 'work'}
    inp = work/'inputs'
    ds, ds28 = load_npz(inp/'digits.npz'), load_npz(inp/'big28.npz')
    x, y = ds.images_at(np.arange(8)), torch.as_tensor(ds.labels[:8])
    return dict(ns, np=np, I=inp, images=DIG['images'], labels=DIG['labels'], model=load_run(inp/'run')[1], ds=ds,
                ds28=ds28, x=x, y=y, x28=ds28.images_at(np.arange(8)))

def root_writes(work:Path):
    "Whether writing into a chmod 555 folder succeeds here (as root it does)"
    d = work/'ro-probe'
    d.mkdir(); d.chmod(0o555)
    try:
        (d/'x').write_text('x')
        return True
    except PermissionError: return False
    finally:
        d.chmod(0o755); shutil.rmtree(d)

def fresh(work:Path):
    "Wipe and make the work folder, refusing to wipe a folder this script did not make"
    if work.exists():
        if any(work.iterdir()) and not (work/MARK).exists():
            raise SystemExit(f'{work} is not empty and was not made by this script: name another --work')
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work/MARK).write_text('made by bench/mistakes.py; wiped at its next run\n')

# ---------------------------------------------------------------------------------------------------------------
# Report

def clean_text(text:str, work:Path, n:int=200):
    text = ' '.join(str(text).split())
    for w in sorted({str(work.resolve()), str(work.absolute()), str(work)}, key=len, reverse=True):
        text = text.replace(w, 'WORK')
    return text if len(text) <= n else text[:n - 3] + '...'

def write_csv(rows, path:Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, ['case', 'interface', 'category', 'command', 'expected', 'outcome', 'seen'])
        w.writeheader(); w.writerows(rows)

def report(rows, seconds:float, csv_path:Path):
    print(f'\n{len(rows)} cases in {seconds / 60:.1f} minutes; table in {csv_path}\n')
    print(f"{'outcome':<12} {'cli':>5} {'api':>5} {'all':>5}")
    for o in OUTCOMES:
        n = [sum(r['outcome'] == o and (i is None or r['interface'] == i) for r in rows) for i in ('cli', 'api', None)]
        print(f'{o:<12} {n[0]:>5} {n[1]:>5} {n[2]:>5}')
    print(f"{'total':<12} {sum(r['interface'] == 'cli' for r in rows):>5} "
          f"{sum(r['interface'] == 'api' for r in rows):>5} {len(rows):>5}")
    bad = [r for r in rows if r['outcome'] not in ('clean error', 'works')]
    if bad: print(f'\n{len(bad)} cases to look at:')
    for r in sorted(bad, key=lambda r: OUTCOMES.index(r['outcome'])):
        print(f"[{r['outcome']}] {r['case']} ({r['interface']})\n    $ {r['command']}\n    -> {r['seen']}")

# ---------------------------------------------------------------------------------------------------------------

def run_cases(cases, work:Path, ns:dict, jobs:int):
    "The rows of `cases`: command-line cases `jobs` at a time, then the serial ones, then the API cases"
    numbered = list(enumerate(cases, 1))
    base = shared_snapshot(work)
    rows = {}
    def go(item):
        nonlocal base
        i, case = item
        row = one_case(i, case, work, ns)
        now = shared_snapshot(work)
        if now != base and row['outcome'] != 'not run':
            ch = diff(base['inputs'], now['inputs']) + diff(base['top'], now['top'])
            what = ', '.join(k for part in ch for k in part)[:120]
            row.update(outcome='data loss', seen=f"{row['seen']} [and the shared inputs changed: {what}]")
            base = now
        rows[i] = {**row, 'seen': clean_text(row['seen'], work), 'command': clean_text(row['command'], work, 400)}
        print(f"{i:3d} {row['outcome']:<11} {case.name}", flush=True)
    parallel = [(i, c) for i, c in numbered if c.interface == 'cli' and not c.serial]
    with ThreadPoolExecutor(jobs) as pool: list(pool.map(go, parallel))
    for item in numbered:
        if item[0] not in rows: go(item)
    return [rows[i] for i, _ in numbered]

@call_parse
def main(work:str='runs/mistakes',  # the work folder: wiped and made afresh
         csv:str='runs/mistakes.csv',  # the table of cases and outcomes
         only:str=None,  # run only the cases whose name contains this
         jobs:int=2):  # command-line cases run at once
    "Try the mistakes a careful user can make with robust_prune, and classify what happens"
    start, work = time.time(), Path(work)
    fresh(work)
    cases = [c for c in all_cases(root_writes(work)) if only is None or only.lower() in c.name.lower()]
    print(f'setting up good inputs in {work}/inputs ...', flush=True)
    setup(work, jobs)
    ns = api_namespace(work) if any(c.interface == 'api' for c in cases) else {}
    print(f'{len(cases)} cases', flush=True)
    rows = run_cases(cases, work, ns, jobs)
    write_csv(rows, Path(csv))
    report(rows, time.time() - start, Path(csv))
