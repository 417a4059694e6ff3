#!/usr/bin/env bash
# What issues #21 and #22 still need measured on a CPU with native bfloat16 (avx512_bf16 or AMX),
# in order of value per minute, for a session that lands on such a machine. Since stop 31 every
# session here had an AVX2-only CPU, where these runs take 3-4x longer in float32 and say nothing
# about the bfloat16 budget. Nothing else may run on the host meanwhile: the runs record their CPU
# share and the load average, and the reference's CIFAR-10 runs, at a load of about 6, are what
# #22's 90-minute budget could not be judged from.
#
#   bash benchmarks/bf16_machine.sh [OUT] [STEP...]     (OUT default /tmp/bf16; steps default all)
#
# Steps (each resumes where an interrupted one stopped; run the same line again):
#   claims  #22: cifar10-aug, cifar10-noaug, filters-layer1 (quick, auto precision: bfloat16),
#           unloaded; with top-patches' ~2 min their wall times are #22's budget (~50 min estimated)
#   bench   #21 items 2-3: the bench's throughput rows (benchmarks/bench.json, BENCH.md)
#   fast    #21 item 5: cifar10-fast, 3 seeds, with today's code; then top-patches, which probes
#           cifar10-fast's models (its prerequisite)
#   probe   #21 item 2: benchmarks/step_probe.py in both precisions (STEP_PROBE.md)
#   publish figures, reference/quick, README tables: OUT's quick results (the other claims are
#           the committed reference's, copied into OUT before the first run)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/bf16}
shift || true
steps=${*:-claims bench fast probe publish}
for step in $steps; do
    case $step in claims|bench|fast|probe|publish) ;;
        *) echo "benchmarks/bf16_machine.sh: unknown step '$step' (claims, bench, fast, probe, publish)" >&2
           exit 2 ;;
    esac
done
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
if [[ " $flags " != *" avx512_bf16 "* && " $flags " != *" amx_bf16 "* ]]; then
    echo "benchmarks/bf16_machine.sh: this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16 in /proc/cpuinfo); nothing to measure here" >&2
    exit 2
fi
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
ours="cifar10-aug cifar10-noaug filters-layer1 top-patches cifar10-fast"
echo "== $(date -u +%FT%TZ) $(git rev-parse --short HEAD) load: $(cut -d' ' -f1-3 /proc/loadavg) steps: $steps -> $out"

if [[ ! -d "$out/quick" ]]; then  # every other claim's committed result, so that publish keeps them
    mkdir -p "$out"
    cp -r reference/quick "$out/quick"
    for c in $ours; do rm -rf "$out/quick/cifar10/$c"; done
fi
for step in $steps; do
    echo "== $(date -u +%FT%TZ) $step (load $(cut -d' ' -f1 /proc/loadavg))"
    case $step in
        claims) python -m replication run cifar10-aug cifar10-noaug filters-layer1 \
                    --profile quick --results-dir "$out" ;;
        bench) python -m replication bench --parts throughput ;;
        fast) python -m replication run cifar10-fast top-patches --profile quick --results-dir "$out" ;;
        probe) PYTHONPATH=. python benchmarks/step_probe.py run
               PYTHONPATH=. python benchmarks/step_probe.py table --write ;;
        publish) python -m replication figures --results-dir "$out"
                 python -m replication publish --profile quick --results-dir "$out"
                 python -m replication readme ;;
    esac
done
echo "== $(date -u +%FT%TZ) done; commit benchmarks/, reference/quick and README.md"
