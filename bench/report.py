#!/usr/bin/env python3
"""Summarise a bench/run.sh work folder as Markdown (medians over the runs,
ratios against the plain onnxruntime script, the issue's targets).

    python bench/report.py WORK_DIR > WORK_DIR/results.md
"""
import json
import re
import statistics
import sys
from pathlib import Path

LABELS = {
    "ft-tract": "`freqtag run --backend tract`",
    "ft-ort": "`freqtag run --backend ort`",
    "ft-tract-norep": "`freqtag run --backend tract --no-report`",
    "ft-ort-norep": "`freqtag run --backend ort --no-report`",
    "py-ort": "Python script: onnxruntime + NumPy",
    "py-torch": "Python script: PyTorch hooks + NumPy",
}
SWEEP_LABELS = dict(LABELS, **{"ft-tract": "`freqtag sweep --backend tract`", "ft-ort": "`freqtag sweep --backend ort`"})
ORDER = list(LABELS)
REF = "py-ort"
TARGETS = {"ft-tract": 2.5, "ft-ort": 4.0}  # issue 9: speed-up of `freqtag run` over the script
MB_PER_IMAGE = 15.0


def time_v(path):
    text = path.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", text).group(1)) for k in ("User", "System"))
    return h * 3600 + m * 60 + s, cpu, rss / 1024


def json_objects(text):
    """Every JSON object in `text`, one after another (the markers are
    concatenated with or without newlines between them)."""
    dec, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def one_run(base):
    """One timed run: wall, CPU, RSS, bytes, items (images or points), frames, network seconds, load."""
    wall, cpu, rss = time_v(Path(f"{base}.time"))
    r = dict(wall=wall, cpu=cpu, rss=rss, bytes=int(Path(f"{base}.bytes").read_text()),
             load=Path(f"{base}.load").read_text().split()[0])
    design, done = Path(f"{base}.design.json"), Path(f"{base}.done.jsonl")
    if design.exists():  # freqtag run
        imgs = json.loads(design.read_text())["images"]
        r.update(items=len(imgs), frames=sum(i.get("network_frames", i["frames_run"]) for i in imgs), net=sum(i["network_seconds"] for i in imgs))
    elif done.exists():  # freqtag sweep
        marks = json_objects(done.read_text())
        r.update(items=len(marks), frames=sum(m.get("network_frames", m["frames_run"]) for m in marks), net=sum(m["network_seconds"] for m in marks))
    else:  # reference.py: its JSON line
        j = json.loads(Path(f"{base}.stdout").read_text().strip().splitlines()[-1])
        r.update(items=j["points"], frames=j["frames"], net=j["network_s"])
    return r


def pipeline(runs, name):
    bases = sorted((p.name[: -len(".time")] for p in runs.glob(f"{name}.r*.time")),
                   key=lambda b: int(b.rsplit(".r", 1)[1]))
    failed = len(list(runs.glob(f"{name}.r*.failed")))
    rs = [one_run(runs / b) for b in bases]
    if not rs:
        return None if not failed else dict(failed=failed, n=0)
    med = lambda k: statistics.median(r[k] for r in rs)
    items = rs[0]["items"]
    wall, net, frames = med("wall"), med("net"), rs[0]["frames"]
    return dict(n=len(rs), failed=failed, walls=[r["wall"] for r in rs], wall=wall, cpu=med("cpu"), rss=med("rss"),
                rss_max=max(r["rss"] for r in rs), bytes=med("bytes"), items=items, frames=frames,
                net_fps=frames / net if net else float("nan"), e2e_fps=frames / wall,
                loads=[r["load"] for r in rs])


def table(rows, unit, labels):
    ref = rows.get(REF)
    print(f"| pipeline | runs | wall, median (s) | each run (s) | per {unit} (s) | frames sent per {unit} "
          f"| net frames/s | frames/s end to end | written (MB) | per {unit} (MB) | peak RSS (MiB) | CPU (s) "
          f"| speed-up vs the onnxruntime script | CPU ratio | 1-min load before |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for key in ORDER:
        r = rows.get(key)
        if r is None:
            continue
        if not r["n"]:
            print(f"| {labels[key]} | failed ({r['failed']}) |" + " |" * 13)
            continue
        sp = f"{ref['wall'] / r['wall']:.2f}×" if ref and ref["n"] else "–"
        cr = f"{ref['cpu'] / r['cpu']:.2f}×" if ref and ref["n"] else "–"
        fail = f" ({r['failed']} failed)" if r["failed"] else ""
        print(f"| {labels[key]} | {r['n']}{fail} | {r['wall']:.2f} | {', '.join(f'{w:.2f}' for w in r['walls'])} "
              f"| {r['wall'] / r['items']:.2f} | {r['frames'] // r['items']} | {r['net_fps']:.1f} | {r['e2e_fps']:.1f} "
              f"| {r['bytes'] / 1e6:.1f} | {r['bytes'] / 1e6 / r['items']:.1f} | {r['rss']:.0f} | {r['cpu']:.1f} "
              f"| {sp} | {cr} | {', '.join(r['loads'])} |")
    print()


def main(work):
    work = Path(work)
    runs = work / "runs"
    cfg = json.loads((work / "config.json").read_text())
    print("# freqtag benchmark (bench/run.sh)\n")
    for f in ("machine.txt", "build.txt"):
        if (work / f).exists():
            for line in (work / f).read_text().splitlines():
                print(f"- {line}")
    print()
    print("Medians over the runs (alternating pipelines). *Speed-up* = the script's median wall time / the "
          "pipeline's; *CPU ratio* likewise with user + system time. *Frames sent*: what went through the "
          "network (freqtag the distinct frames of one period of the 240-frame window, the script all 240). *Net frames/s*: frames / "
          "the time spent in the network as each program measured it; *end to end*: frames / wall. *Written*: "
          "du -sb of the output folder. *Peak RSS*: /usr/bin/time -v.\n")
    # runs follow each other with no pause, so the 1-min load during the
    # benchmark is its own (about 2 on 2 cores); what tells whether other
    # jobs shared the machine is the load before the first run
    first = sorted(runs.glob("*.load"), key=lambda p: p.stat().st_mtime)[:1]
    load0 = float(first[0].read_text().split()[0]) if first else float("nan")
    if load0 > cfg["load_max"]:
        print(f"**Not an idle machine:** the 1-min load before the first run was {load0:.2f} "
              f"(> {cfg['load_max']}); compare ratios, not absolute times.\n")
    else:
        print(f"The machine was idle before the first run (1-min load {load0:.2f}); the loads listed per run "
              "are the benchmark's own (each pipeline keeps both cores busy).\n")

    results = {}
    for w, title, unit, labels in [
        ("run", f"`freqtag run`, default outputs: EfficientNet-Lite0, paper design, 82 taps, images {cfg['run_images']}",
         "image", LABELS),
        ("sweep", f"sweep: images {cfg['sweep_images']} × frequency pairs {cfg['sweep_freqs']} × depths "
         f"{cfg['sweep_depths']} (Lite0, 82 taps; freqtag writes scores + spectra-npy)", "point", SWEEP_LABELS),
    ]:
        rows = {k: r for k in ORDER if (r := pipeline(runs, f"{w}-{k}")) is not None}
        if not rows:
            continue
        results[w] = rows
        print(f"## {title}\n")
        table(rows, unit, labels)

    mem = []
    for p in sorted(runs.glob("memory-*.r1.time"), key=lambda p: int(p.name.split("-")[1].split(".")[0])):
        n = int(p.name.split("-")[1].split(".")[0])
        mem.append((n, one_run(runs / f"memory-{n}.r1")))
    if mem:
        print("## Peak memory against the number of images (`freqtag run --backend tract`, default outputs)\n")
        print("| images | wall (s) | per image (s) | peak RSS (MiB) | written (MB) | 1-min load before |")
        print("|---:|---:|---:|---:|---:|---|")
        for n, r in mem:
            print(f"| {n} | {r['wall']:.2f} | {r['wall'] / n:.2f} | {r['rss']:.0f} | {r['bytes'] / 1e6:.1f} | {r['load']} |")
        print()

    run = results.get("run", {})
    if run:
        print("## Issue 9 targets\n")
        ref = run.get(REF)
        for key, target in TARGETS.items():
            r = run.get(key)
            if r and r["n"] and ref and ref["n"]:
                s = ref["wall"] / r["wall"]
                print(f"- {LABELS[key]}: {s:.2f}× faster than the onnxruntime script (target ≥ {target}×): "
                      f"{'met' if s >= target else 'not met'}")
        r = run.get("ft-tract") or run.get("ft-ort")
        if r and r["n"]:
            mb = r["bytes"] / 1e6 / r["items"]
            print(f"- default output: {mb:.1f} MB per image, report included (target ≤ {MB_PER_IMAGE:.0f} MB): "
                  f"{'met' if mb <= MB_PER_IMAGE else 'not met'}")
        if len(mem) > 1:
            print(f"- peak RSS for {', '.join(str(n) for n, _ in mem)} images: "
                  f"{' / '.join('%.0f' % r['rss'] for _, r in mem)} MiB (target: flat)")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
