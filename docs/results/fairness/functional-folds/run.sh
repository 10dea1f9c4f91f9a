#!/bin/bash
# the functional suite scored by every fold model of two CV runs (default, counterfactual-1.0), one at a time
cd /work/main && source .venv/bin/activate && export PYTHONPATH=/work/main
out=${OUT:-/tmp/funcfolds}; mkdir -p $out
for run in default=/tmp/ref/cv counterfactual-1.0=/tmp/cv_counterfactual1/cv; do
  name=${run%%=*}; dir=${run#*=}
  for k in 0 1 2 3 4; do
    python stages/functional.py --suite data/functional/suite.yaml --groups data/functional/groups.yaml \
      --model-dir $dir/models/fold$k/transformer --baseline-dir $dir/models/fold$k/baseline --splits $dir/folds/fold$k \
      --lexicon $dir/augmented/fold$k/lexicon.json --out $out/$name-fold$k.json --cases $out/$name-fold$k.parquet >> $out/log.txt 2>&1 || echo "FAIL $name $k" >> $out/log.txt
  done
done
echo done >> $out/log.txt
