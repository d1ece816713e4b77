#!/usr/bin/env python3
"""Writes a transform trace for lookup benchmarks (stamp-sync tf --bench,
build/tf_oracle --bench): a random tree of FRAMES frames (about 1 in 4
links static), dynamic links at 10..100 Hz over SECONDS seconds, then
LOOKUPS lookups between random frame pairs at random times inside the data
(5 % at stamp 0). Deterministic for a seed.

  scripts/gen_tf_trace.py [--frames 30] [--seconds 8] [--lookups 100000] [--seed 1] > trace.csv
"""
import argparse
import math
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--lookups", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    base = 1_000_000_000_000
    span = int(a.seconds * 1e9)
    names = [f"frame_{i}" for i in range(a.frames)]
    lines = []

    def quat():
        q = [rng.uniform(-1, 1) for _ in range(4)]
        n = math.sqrt(sum(x * x for x in q))
        return [x / n for x in q]

    def rec(kind, stamp, parent, child):
        v = [rng.uniform(-5, 5) for _ in range(3)]
        q = quat()
        lines.append((stamp, f"{kind},{stamp},{parent},{child}," + ",".join(repr(x) for x in v + q)))

    for i in range(1, a.frames):
        parent = names[rng.randrange(max(0, i - 4), i)]
        if rng.random() < 0.25:
            rec("tf_static", 0, parent, names[i])
            continue
        period = int(1e9 / rng.choice([10, 20, 30, 50, 100]))
        t = base + rng.randrange(period)
        while t < base + span:
            rec("tf", t, parent, names[i])
            t += period
    lines.sort(key=lambda x: x[0])
    out = [l for _, l in lines]
    # Inside every link's data: after the slowest first sample, before the
    # earliest last one.
    lo, hi = base + 100_000_000, base + span - 100_000_000
    for _ in range(a.lookups):
        s, t = rng.sample(names, 2)
        stamp = 0 if rng.random() < 0.05 else rng.randrange(lo, hi)
        out.append(f"lookup,{stamp},{t},{s}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
