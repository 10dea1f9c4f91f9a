#!/bin/bash
# inference-only effect of masked targets: v5 fold models with better-profanity's list added to their spelling lists
cd /work/main && source .venv/bin/activate && export PYTHONPATH=/work/main
src=/tmp/cv_contrast/cv; out=/tmp/funcfolds; name=v5-t15-maskinfer
for k in 0 1 2 3 4; do
  m=/tmp/maskinfer/fold$k; rm -rf $m; mkdir -p $m
  for f in $src/models/fold$k/transformer/*; do ln -s $f $m/; done
  rm $m/spelling.json
  python - $src/models/fold$k/transformer/spelling.json $m/spelling.json <<'PY'
import json, sys
from hatespeech.data.spelling import profanity_list
d = json.load(open(sys.argv[1])); d["masked"] = profanity_list(); json.dump(d, open(sys.argv[2], "w"))
PY
  python stages/functional.py --suite data/functional/suite.yaml --groups data/functional/groups.yaml \
    --model-dir $m --baseline-dir $src/models/fold$k/baseline --splits $src/folds/fold$k \
    --lexicon $src/augmented/fold$k/lexicon.json --out $out/$name-fold$k.json --cases $out/$name-fold$k.parquet >> $out/log-$name.txt 2>&1 || echo "FAIL $k" >> $out/log-$name.txt
done
echo done >> $out/log-$name.txt
