#!/bin/bash
cd /work/main && source .venv/bin/activate && export PYTHONPATH=/work/main
out=${OUT:-/tmp/funcfolds}; dir=${CV_NEW:-/tmp/cv15/cv}; name=spelling-t15
for k in 0 1 2 3 4; do
  python stages/functional.py --suite data/functional/suite.yaml --groups data/functional/groups.yaml \
    --model-dir $dir/models/fold$k/transformer --baseline-dir $dir/models/fold$k/baseline --splits $dir/folds/fold$k \
    --lexicon $dir/augmented/fold$k/lexicon.json --out $out/$name-fold$k.json --cases $out/$name-fold$k.parquet >> $out/log15.txt 2>&1 || echo "FAIL $name $k" >> $out/log15.txt
done
echo done >> $out/log15.txt
