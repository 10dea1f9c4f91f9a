"""How the dataset's annotators label tweets that contain each slur of data/functional/groups.yaml (the word or its
plural, whole words, case-insensitive), on the shipped 85% copy: python docs/results/behaviour-v7/slur-labels.py"""

import json
import re

import yaml

from hatespeech import LABEL, TEXT
from hatespeech.data.sources import load_csv

frame = load_csv("data/hate_speech_offensive/labeled_data.csv.gz").frame
groups = yaml.safe_load(open("data/functional/groups.yaml"))["groups"]
texts = frame[TEXT].str.lower()
rows = []
for group, terms in groups.items():
    for word in terms.get("slurs") or []:
        has = texts.str.contains(rf"\b{re.escape(word)}s?\b", regex=True)
        counts = frame[LABEL][has].value_counts()
        tweets = int(has.sum())
        if tweets:
            names = ("hate", "offensive", "neither")
            shares = {name: round(int(counts.get(i, 0)) / tweets, 2) for i, name in enumerate(names)}
            rows.append({"group": group, "slur": word, "tweets": tweets, **shares})
rows.sort(key=lambda row: -row["hate"])
json.dump(rows, open("docs/results/behaviour-v7/slur-labels.json", "w"), indent=1)
for row in rows:
    shares = "  ".join(f"{name} {row[name]:.2f}" for name in ("hate", "offensive", "neither"))
    print(f"{row['group']:16s} {row['slur']:10s} {row['tweets']:4d}  {shares}")
