#!/usr/bin/env python3
"""Checks a `carte bench --json` document (issue 9): every figure is present and none was skipped.

    python3 scripts/bench-check.py bench.json

Prints one line per figure with its goal and exits 1 when a figure is missing or skipped (goals missed are
reported, not failures: README states the gaps)."""
import json
import sys

FLOW_KEYS = ["apdus", "bytesToCard", "bytesFromCard", "wireTimeMs", "limitMs", "wireTimeToLimitRatio"]


def main(path):
    with open(path) as f:
        doc = json.load(f)
    problems = []
    for flow in ["cpsAuthentication", "vitaleRead", "badgeAuthentication"]:
        f = doc.get("flows", {}).get(flow)
        if not isinstance(f, dict):
            problems.append(f"flows.{flow}: missing ({doc.get('flows', {}).get(flow + 'Reason', 'no reason')})")
            continue
        missing = [k for k in FLOW_KEYS if k not in f]
        if missing:
            problems.append(f"flows.{flow}: missing {missing}")
        else:
            print(f"bench: {flow:22s} {f['apdus']:4d} APDUs  wire {f['wireTimeMs']:9.3f} ms  "
                  f"limit {f['limitMs']:9.3f} ms  ratio {f['wireTimeToLimitRatio']:.2f}")
    for key in ["peers", "host", "insc", "service"]:
        v = doc.get(key)
        if not isinstance(v, dict):
            problems.append(f"{key}: missing")
        elif "skipped" in v or "openscSkipped" in v:
            problems.append(f"{key}: skipped ({v.get('skipped') or v.get('openscSkipped')})")
        else:
            required = {"peers": ["apduRatio"], "host": ["swiftToC", "pyscardToC"], "insc": ["ratio"],
                        "service": ["rssIdleMB", "rssGrowthMB", "startupToReadyMs"]}[key]
            missing = [k for k in required if v.get(k) is None]
            if missing:
                why = {k: v[k] for k in v if k.endswith("Skipped")}
                problems.append(f"{key}: no {', '.join(missing)} {why}")
    if not problems:
        p, h, i, s = doc["peers"], doc["host"], doc["insc"], doc["service"]
        print(f"bench: peers apduRatio {p.get('apduRatio')} (goal <= 0.6)")
        print(f"bench: host swiftToC {h.get('swiftToC')} pyscardToC {h.get('pyscardToC')} (goal <= 1.10)")
        print(f"bench: insc ratio {i.get('ratio')} (goal >= 20)")
        print(f"bench: service idle {s.get('rssIdleMB')} MB, growth {s.get('rssGrowthMB')} MB (goals <= 30, <= 1)")
    for p in problems:
        print(f"bench: FIGURE MISSING: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/dev/stdin"))
