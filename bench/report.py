#!/usr/bin/env python3
"""Summarise a bench/run.sh work folder as a Markdown table with ratios.

    python bench/report.py WORK_DIR
"""
import json
import re
import sys
from pathlib import Path

ENGINES = [("ft-tract", "freqtag, tract"), ("ft-ort", "freqtag, onnxruntime"),
           ("py-ort", "Python: onnxruntime + NumPy"), ("py-torch", "Python: PyTorch hooks + NumPy")]


def time_v(path):
    text = path.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", text).group(1)) for k in ("User", "System"))
    return h * 3600 + m * 60 + s, rss / 1024, cpu


def freqtag_points(out):
    marks = [json.loads(p.read_text()) for p in (out / "_done").glob("*.json")]
    frames = sum(m["frames_run"] for m in marks)
    net = sum(m["network_seconds"] for m in marks)
    return len(marks), sum(m["seconds"] for m in marks) / len(marks), frames, frames / net


def main(work):
    work = Path(work)
    print(f"Machine: {open('/proc/cpuinfo').read().count('processor')} cores; load averages are the 1/5/15-minute "
          "values just before and after each run.\n")
    for w in ["paper", "sweep"]:
        rows = {}
        for key, label in ENGINES:
            name = f"{w}-{key}"
            if not (work / f"{name}.time").exists() or not (work / f"{name}.load-after").exists():
                continue
            wall, rss, cpu = time_v(work / f"{name}.time")
            load = (work / f"{name}.load").read_text().strip()
            after = (work / f"{name}.load-after").read_text().strip()
            if key.startswith("ft"):
                n, per, frames, fps = freqtag_points(work / f"out-{name}")
            else:
                j = json.loads((work / f"{name}.stdout").read_text().strip().splitlines()[-1])
                n, per, frames, fps = j["points"], j["per_point_s"], j["frames"], j["frames_per_s"]
            rows[key] = dict(label=label, wall=wall, cpu=cpu, rss=rss, n=n, per=per, frames=frames, fps=fps, load=load, after=after)
        if not rows:
            continue
        title = "the paper's experiment (Lite0, 82 taps, 240 frames)" if w == "paper" else "a sweep of 5 images x 5 frequency pairs x 2 depths"
        print(f"### {title}\n")
        print("| pipeline | points | wall (s) | CPU (s) | per point (s) | frames through the net | net frames/s | peak RSS (MiB) | load before → after |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows.values():
            print(f"| {r['label']} | {r['n']} | {r['wall']:.1f} | {r['cpu']:.0f} | {r['per']:.2f} | {r['frames']} | {r['fps']:.0f} | {r['rss']:.0f} | {r['load']} → {r['after']} |")
        print()
        for ft in ["ft-tract", "ft-ort"]:
            if ft not in rows:
                continue
            for ref in ["py-torch", "py-ort"]:
                if ref in rows:
                    a, b = rows[ref], rows[ft]
                    if a["n"] == b["n"]:
                        print(f"- {b['label']} vs {a['label']}: end to end {a['wall'] / b['wall']:.1f}x faster "
                              f"(per point {a['per'] / b['per']:.1f}x; CPU time {a['cpu'] / b['cpu']:.1f}x less)")
                    else:  # the reference ran a subset of the points
                        cpu = (a["cpu"] / a["n"]) / (b["cpu"] / b["n"])
                        print(f"- {b['label']} vs {a['label']} (which ran {a['n']} of the {b['n']} points): per point "
                              f"{a['per'] / b['per']:.1f}x faster; CPU time per point {cpu:.1f}x less")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
