#!/usr/bin/env python3
"""Turns target/criterion results into a markdown report with ratios to the reference
that ran in the same group (a benchmark whose id contains 'reference')."""
import json, os, platform, subprocess, sys, datetime, glob

name, command = sys.argv[1], sys.argv[2]
rows = {}
for path in glob.glob("target/criterion/**/new/benchmark.json", recursive=True):
    bench = json.load(open(path))
    estimates = json.load(open(os.path.join(os.path.dirname(path), "estimates.json")))
    mean_ns = estimates["mean"]["point_estimate"]
    elements = (bench.get("throughput") or {}).get("Elements", 1)
    rows.setdefault(bench["group_id"], []).append((bench["full_id"], mean_ns, elements))

def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"# Benchmark: {name}\n")
print(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
print(f"- commit: {commit}")
print(f"- machine: {os.cpu_count()} cores, {cpu()}, {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}")
print(f"- command: `{command}` (criterion, mean of samples)\n")
print("| group | benchmark | time per item | items/s | vs reference (same run) |")
print("|---|---|---|---|---|")
for group in sorted(rows):
    entries = sorted(rows[group])
    reference = next((e for e in entries if "reference" in e[0]), None)
    for full_id, mean_ns, elements in entries:
        per_item = mean_ns / elements
        rate = 1e9 / per_item
        ratio = ""
        if reference and "reference" not in full_id:
            ratio = f"{(reference[1] / reference[2]) / per_item:.2f}x"
        unit = f"{per_item:.0f} ns" if per_item >= 1 else f"{per_item:.2f} ns"
        if per_item >= 1000:
            unit = f"{per_item / 1000:.1f} µs"
        print(f"| {group} | {full_id.split('/', 1)[1] if '/' in full_id else full_id} | {unit} | {rate:,.0f} | {ratio} |")
