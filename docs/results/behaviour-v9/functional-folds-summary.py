# Pair two CV runs' functional-suite scores over the folds: python functional-folds-summary.py BEFORE AFTER
# (reads /tmp/funcfolds/<name>-fold<k>.json, as functional-folds.sh writes them; made functional-folds-v9d.json / .txt)
import json, numpy as np
from scipy import stats
keys=['overall','hateful','non_hateful','macro']
import sys; a_name, b_name = sys.argv[1], sys.argv[2]
rows={r:[json.load(open(f'/tmp/funcfolds/{r}-fold{k}.json'))['transformer'] for k in range(5)] for r in (a_name,b_name)}
funcs=sorted(rows[a_name][0]['functionalities'])
out={}
def line(k, get):
    a=np.array([get(r) for r in rows[a_name]]); b=np.array([get(r) for r in rows[b_name]])
    d=b-a; t=stats.ttest_rel(b,a); half=stats.t.ppf(0.975,4)*d.std(ddof=1)/np.sqrt(5)
    out[k]=dict(before=a.round(3).tolist(), after=b.round(3).tolist(), mean_before=round(a.mean(),3), mean_after=round(b.mean(),3), change=round(d.mean(),3), low=round(d.mean()-half,3), high=round(d.mean()+half,3), p=round(float(t.pvalue),3))
    print(f"{k:34s} {a.mean():.3f} -> {b.mean():.3f}  {d.mean():+.3f} ({d.mean()-half:+.3f} to {d.mean()+half:+.3f}, p={t.pvalue:.3f})")
for k in keys: line(k, lambda r: r[k]['accuracy'])
for k in funcs: line(k, lambda r: r['functionalities'][k]['accuracy'])
line('disguised_min', lambda r: min(v['flag_rate'] for v in r['disguised_tweets']['kinds'].values()))
line('neither_false_flag_max', lambda r: max(v['neither_false_flag_rate'] for v in r['disguised_tweets']['kinds'].values()))
b=rows[b_name]
print('below 0.60 per fold model (after):', [sum(v['accuracy']<0.6 for v in r['functionalities'].values()) for r in b], 'before:', [sum(v['accuracy']<0.6 for v in r['functionalities'].values()) for r in rows[a_name]])
json.dump(out, open('/tmp/funcfolds/summary-'+b_name+'.json','w'), indent=1)
