#!/bin/bash
# GTEA 4 folds: one archive per fold (its own features), eval with the original, one card each.
set -e
export OMP_NUM_THREADS=1
# run from an empty folder (2026-12-07: /tmp/gtea4)
for k in 1 2 3 4; do
  if [ $k = 1 ]; then d=/work/shared/data/gtea-tcn128; else d=/work/shared/data/gtea-tcn128-split$k; fi
  s=$(date +%s)
  [ -f fold$k.tasz ] || timeout 1500 python -m tascodec encode $d fold$k.tasz --quiet > enc$k.log 2>&1
  timeout 2400 python -m tascodec eval fold$k.tasz --dataset $d --with-original --epochs 20 --seeds 0 --quiet --json > eval$k.json 2> eval$k.err
  python -m tascodec card fold$k.tasz --eval eval$k.json --name "GTEA (gtea-tcn128 fold $k features)" --repo lab/gtea-tcn128-fold$k -o card$k.md --overwrite
  echo "fold $k done in $(( $(date +%s) - s )) s" >> progress.log
done
