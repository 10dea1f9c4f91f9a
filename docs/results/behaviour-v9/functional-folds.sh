#!/bin/bash
# usage: functional-folds.sh NAME CVDIR (the functional suite scored by a make cv run's five fold models; made
# functional-folds-v9d.json here, NAME a label, CVDIR a make cv workspace's cv/ folder)
cd "$(git rev-parse --show-toplevel)" && source .venv/bin/activate && export PYTHONPATH="$PWD"
out=/tmp/funcfolds; name=$1; dir=$2
for k in 0 1 2 3 4; do
  python stages/functional.py --suite data/functional/suite.yaml --groups data/functional/groups.yaml \
    --model-dir $dir/models/fold$k/transformer --baseline-dir $dir/models/fold$k/baseline --splits $dir/folds/fold$k \
    --lexicon $dir/augmented/fold$k/lexicon.json --out $out/$name-fold$k.json --cases $out/$name-fold$k.parquet >> $out/log-$name.txt 2>&1 || echo "FAIL $name $k" >> $out/log-$name.txt
done
echo done >> $out/log-$name.txt
