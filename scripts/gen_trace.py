#!/usr/bin/env python3
# Copied unchanged (apart from this header) from the project's shared reference
# oracle directory (../shared/reference/oracle/gen_trace.py), so that
# scripts/compare-cpp.sh generates the very traces the reference numbers used.
"""Deterministic stamp traces for synchronizer checks.
Usage: gen_trace.py KIND N_CHANNELS N_MESSAGES SEED
KIND: jitter   - channels at different rates (10..100 Hz) with arrival jitter and 2% drops
      exact    - all channels share stamps (camera+info style), 5% drops per channel
      ooo      - like jitter, but arrival order shuffled within a small window (out of order)
      burst    - one channel stalls then delivers a backlog burst
Prints 'channel,stamp_ns' lines in arrival order."""
import random, sys

def main():
    kind, n, total, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    t0 = 1_700_000_000_000_000_000
    evs = []  # (arrival_ns, channel, stamp_ns)
    if kind == "exact":
        period = 33_333_333
        k = 0
        while len(evs) < total:
            stamp = t0 + k * period
            for ch in range(n):
                if rnd.random() < 0.05: continue
                evs.append((stamp + rnd.randint(0, 20_000_000), ch, stamp))
            k += 1
    else:
        rates = [rnd.choice([10, 15, 20, 30, 50, 100]) for _ in range(n)]
        per = total // n + 1
        for ch in range(n):
            period = 1_000_000_000 // rates[ch]
            offset = rnd.randint(0, period)
            stalled_from = rnd.randint(per // 4, per // 2) if kind == "burst" and ch == 0 else None
            last_arrival = 0
            for k in range(per):
                stamp = t0 + offset + k * period + rnd.randint(-period // 10, period // 10)
                if rnd.random() < 0.02: continue
                lat = rnd.randint(1_000_000, 15_000_000)
                if stalled_from is not None and stalled_from <= k < stalled_from + 40:
                    lat += (stalled_from + 40 - k) * period
                last_arrival = max(last_arrival + 1, stamp + lat)  # one topic arrives in order
                evs.append((last_arrival, ch, stamp))
    evs.sort()
    if kind == "ooo":
        for i in range(0, len(evs) - 4, 3):
            if rnd.random() < 0.3:
                j = i + rnd.randint(1, 3)
                if evs[i][1] != evs[j][1]:  # keep per-channel order; only interleave channels
                    evs[i], evs[j] = evs[j], evs[i]
    print("channel,stamp_ns")
    for _, ch, stamp in evs[:total]:
        print(f"{ch},{stamp}")

main()
