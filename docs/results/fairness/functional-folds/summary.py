import json, numpy as np
from scipy import stats
keys=['overall','hateful','non_hateful','macro']
funcs=['negated_hate','identity_neutral','identity_positive','slurs_homonym','counter_speech_reference','slur_attack_person','spelling_asterisk_slur']
rows={}
for run in ['default','counterfactual-1.0']:
    rows[run]=[json.load(open(f'/tmp/funcfolds/{run}-fold{k}.json'))['transformer'] for k in range(5)]
out={}
for k in keys+funcs:
    get=(lambda r: r[k]['accuracy']) if k in keys else (lambda r: r['functionalities'][k]['accuracy'])
    a=np.array([get(r) for r in rows['default']]); b=np.array([get(r) for r in rows['counterfactual-1.0']])
    d=b-a; t=stats.ttest_rel(b,a)
    half=stats.t.ppf(0.975,4)*d.std(ddof=1)/np.sqrt(5)
    out[k]=dict(default=a.round(3).tolist(), counterfactual=b.round(3).tolist(), mean_default=round(a.mean(),3), mean_cf=round(b.mean(),3), change=round(d.mean(),3), low=round(d.mean()-half,3), high=round(d.mean()+half,3), p=round(float(t.pvalue),3))
    print(f"{k:26s} {a.mean():.3f} -> {b.mean():.3f}  {d.mean():+.3f} ({d.mean()-half:+.3f} to {d.mean()+half:+.3f}, p={t.pvalue:.3f})  folds {a.round(2).tolist()} -> {b.round(2).tolist()}")
json.dump(out, open('/tmp/funcfolds/summary.json','w'), indent=1)
