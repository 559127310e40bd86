"""k-NN score extrapolation at scale: exact and IVF faiss search against scikit-learn and torch.cdist.

1. Exact search at scale, on seeded data generated here: 50,000 source × 2,000,000 destination vectors of 384
   dimensions (the destination a float16 .npy of 1.5 GB, memory-mapped), k = 12. `knn_extrapolate` runs in a child
   process, so that its peak resident memory is its own: seconds and peak resident memory (targets: ≤ 10 minutes and
   ≤ 1 GB on 2 CPU cores).
2. Baselines, on the first 200,000 destination rows in the same run: faiss exact against scikit-learn's brute-force
   `NearestNeighbors` and against `torch.cdist` + `topk` over query chunks (how the extrapolation paper's code
   searches); the ratios of their seconds, and whether they find the same neighbours.
   The cost of the exact re-ranking, on the first 65,536 destination rows, in turns: every row's k + 8 candidates
   against only the first k of the rows without a near-tie at the k-th place (what the package does).
3. IVF on real embeddings, where its clusters mean something (random vectors are its worst case): CIFAR-10 pixels +
   PCA (fitted on the 50,000 training images) with the training images as source and the 10,000 test images as
   destination; exact against IVF at several nprobe: seconds, speed-up and recall@12 (the share of the exact 12
   neighbours that IVF finds).

    python bench/knn.py [--n-dest 2000000] [--work /tmp/robust_prune_knn] [--cifar ../shared/data/cifar10]
"""
import argparse, multiprocessing as mp, os, resource, time
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')   # OpenMP threads sleep rather than spin while waiting: on a shared machine spinning costs several-fold
from pathlib import Path
import numpy as np, torch, faiss

def generate(work:Path, n_source:int, n_dest:int, dim:int, chunk:int=100_000):
    "Seeded source (float32, in memory) and destination (float16 .npy written in chunks) vectors, and source scores"
    rng = np.random.default_rng(0)
    source = rng.standard_normal((n_source, dim), dtype=np.float32)
    score = rng.random(n_source)
    path = work/f'dest-{n_dest}x{dim}.npy'
    if not path.exists():
        out = np.lib.format.open_memmap(work/'dest.partial.npy', mode='w+', dtype=np.float16, shape=(n_dest, dim))
        for i in range(0, n_dest, chunk): out[i:i + chunk] = rng.standard_normal((min(chunk, n_dest - i), dim), dtype=np.float32)
        out.flush(); del out
        os.replace(work/'dest.partial.npy', path)
    return source, score, path

def _exact_child(source, score, path, k, queue):
    from robust_prune.extrapolate import knn_extrapolate
    dest = np.load(path, mmap_mode='r')
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    pred = knn_extrapolate(source, score, dest, k=k, progress=False)
    from robust_prune.knn import _FASTER
    queue.put(dict(seconds=time.perf_counter() - t, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   before_mb=before / 1024, finite=bool(np.isfinite(pred).all()),
                   engine=', '.join(sorted(set(_FASTER.values()))) or 'faiss'))

def exact_at_scale(source, score, path, k):
    "`knn_extrapolate` over the whole destination in a fresh process: seconds and peak resident memory"
    ctx = mp.get_context('fork')
    q = ctx.Queue()
    p = ctx.Process(target=_exact_child, args=(source, score, path, k, q)); p.start()
    res = q.get(); p.join()
    return res

def baselines(source, dest, k):
    "faiss exact, scikit-learn brute force and torch.cdist + topk on the same queries: seconds, and agreement with faiss"
    from sklearn.neighbors import NearestNeighbors
    from robust_prune.knn import knn_index, as_queries
    q = as_queries(dest)
    t = time.perf_counter(); _, I_faiss = knn_index(source).search(q, k); t_faiss = time.perf_counter() - t
    t = time.perf_counter(); I_sk = NearestNeighbors(n_neighbors=k, algorithm='brute').fit(source).kneighbors(q, return_distance=False)
    t_sk = time.perf_counter() - t
    t = time.perf_counter()
    s = torch.from_numpy(source)
    I_torch = np.concatenate([torch.cdist(torch.from_numpy(q[i:i + 4096]), s).topk(k, largest=False).indices.numpy()
                              for i in range(0, len(q), 4096)])
    t_torch = time.perf_counter() - t
    same = lambda I: np.mean([len(set(a) & set(b)) / k for a, b in zip(I, I_faiss)])
    return dict(faiss_s=t_faiss, sklearn_s=t_sk, cdist_s=t_torch, sklearn_ratio=t_sk / t_faiss, cdist_ratio=t_torch / t_faiss,
                sklearn_same=same(I_sk), cdist_same=same(I_torch))

def rerank_cost(source, q, k, extra:int=8):
    "Seconds of the search and of re-ranking all k + extra candidates vs only the rows with a near-tie, in turns"
    from robust_prune.knn import knn_index, rerank, rounding_bound
    idx = knn_index(source, engine='faiss')
    for _ in range(2):   # in turns, the first round warming up
        t = time.perf_counter(); D, I = idx.base.search(q, k + extra); t_search = time.perf_counter() - t
        t = time.perf_counter(); full = rerank(idx.x, q, I, k); t_full = time.perf_counter() - t
        t = time.perf_counter(); part = rerank(idx.x, q, I, k, approx=D, norms=idx.norms); t_part = time.perf_counter() - t
    tied = ~(D[:, k] - D[:, k - 1] > 2 * rounding_bound(q, idx.norms[I].max(1)))
    return dict(search_s=t_search, full_s=t_full, part_s=t_part, tied=tied.mean(),
                same=bool((full[1] == part[1]).all() and (full[0] == part[0]).all()))

def ivf_on_cifar(root, k, dim, nprobes):
    "Exact vs IVF search of CIFAR-10 test images among the training images, pixels + PCA: seconds, speed-up, recall@k"
    from robust_prune.data import load_dataset
    from robust_prune.embed import pixel_pca, embed
    from robust_prune.knn import knn_index, as_queries, default_nlist
    train, test = load_dataset(f'cifar10:{root}', train=True), load_dataset(f'cifar10:{root}', train=False)
    t = time.perf_counter()
    pca = pixel_pca(train, dim, progress=False)
    src, dst = [np.asarray(embed(pca, ds, dtype='float32', progress=False).vectors) for ds in (train, test)]
    print(f"CIFAR-10 pixels + PCA to {dim} dimensions (fit and embed 60,000 images): {time.perf_counter() - t:.0f} s", flush=True)
    q = as_queries(dst)
    exact = knn_index(src)
    t = time.perf_counter(); _, I = exact.search(q, k); t_exact = time.perf_counter() - t
    nlist, rows = default_nlist(len(src)), []
    t = time.perf_counter(); ivf = knn_index(src, index='ivf'); t_build = time.perf_counter() - t
    for nprobe in nprobes:
        ivf.nprobe = nprobe
        t = time.perf_counter(); _, Iv = ivf.search(q, k); t_ivf = time.perf_counter() - t
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(Iv, I)])
        rows.append(dict(nlist=nlist, nprobe=nprobe, exact_s=t_exact, ivf_s=t_ivf, speedup=t_exact / t_ivf, recall=recall, build_s=t_build))
    return rows

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n-source', type=int, default=50_000)
    p.add_argument('--n-dest', type=int, default=2_000_000)
    p.add_argument('--dim', type=int, default=384)
    p.add_argument('--k', type=int, default=12)
    p.add_argument('--slice', type=int, default=200_000, help='destination rows for the baselines')
    p.add_argument('--rerank-rows', type=int, default=65_536, help='destination rows for the cost of re-ranking')
    p.add_argument('--work', default='/tmp/robust_prune_knn', help='where the generated destination file goes')
    p.add_argument('--cifar', default='../shared/data/cifar10')
    p.add_argument('--pca-dim', type=int, default=128)
    a = p.parse_args()
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; {os.cpu_count()} CPU cores", flush=True)
    source, score, path = generate(work, a.n_source, a.n_dest, a.dim)
    r = exact_at_scale(source, score, path, a.k)
    print(f"\nexact k-NN extrapolation (engine 'auto' chose {r['engine']}), {a.n_source:,} source × {a.n_dest:,} destination × {a.dim} dims (float16, memory-mapped), "
          f"k = {a.k}: {r['seconds']:.0f} s ({a.n_dest / r['seconds']:,.0f} destination vectors/s); peak resident memory "
          f"{r['peak_mb']:.0f} MB ({r['before_mb']:.0f} MB before the search); all scores finite: {r['finite']}", flush=True)
    b = baselines(source, np.asarray(np.load(path, mmap_mode='r')[:a.slice], dtype=np.float32), a.k)
    print(f"\n{a.slice:,}-destination slice: faiss exact {b['faiss_s']:.1f} s; scikit-learn brute force {b['sklearn_s']:.1f} s "
          f"({b['sklearn_ratio']:.1f}× faiss, same neighbours {b['sklearn_same']:.4f}); torch.cdist + topk {b['cdist_s']:.1f} s "
          f"({b['cdist_ratio']:.1f}× faiss, same neighbours {b['cdist_same']:.4f})", flush=True)
    r = rerank_cost(source, np.asarray(np.load(path, mmap_mode='r')[:a.rerank_rows], dtype=np.float32), a.k)
    print(f"\nre-ranking the candidates of {a.rerank_rows:,} destination rows (faiss search {r['search_s']:.1f} s): all "
          f"k + 8 of every row {r['full_s']:.2f} s, only the first k except in the {r['tied']:.1%} of rows with a near-tie "
          f"at the k-th place {r['part_s']:.2f} s; the same neighbours and distances: {r['same']}", flush=True)
    rows = ivf_on_cifar(a.cifar, a.k, a.pca_dim, (1, 2, 4, 8, 16, 28, 32, 56, 111))
    print(f"\nIVF vs exact on CIFAR-10 pixels + PCA ({a.pca_dim} dims), 10,000 test images among 50,000 training images, k = {a.k}")
    print('nlist  nprobe  exact s  IVF s  speed-up  recall@k')
    for r in rows: print(f"{r['nlist']:5d}  {r['nprobe']:6d}  {r['exact_s']:7.2f}  {r['ivf_s']:5.2f}  {r['speedup']:7.1f}×  {r['recall']:8.4f}")
    from robust_prune.knn import default_nprobe
    print(f"(IVF index built and trained in {rows[0]['build_s']:.1f} s; the package's default nprobe here: "
          f"{default_nprobe(rows[0]['nlist'])})")

if __name__ == '__main__': main()
