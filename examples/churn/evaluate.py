"""Evaluate the example model on held-out data: accuracy, ROC AUC and log loss, computed here.
Run by mlship: python3 evaluate.py --model MODEL --data DATA --out OUTPUTS"""
import argparse
import csv
import json
import math
import os

from model import features, load_model, load_rows, predict

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--out", required=True, help="outputs folder")
args = ap.parse_args()

model = load_model(args.model)
rows = load_rows(args.data)
labels = [1 if r["churned"] == "true" else 0 for r in rows]
scores = [predict(model, features(r)) for r in rows]

accuracy = sum((s >= 0.5) == bool(t) for s, t in zip(scores, labels)) / len(rows)
eps = 1e-15
log_loss = -sum(t * math.log(max(s, eps)) + (1 - t) * math.log(max(1 - s, eps)) for s, t in zip(scores, labels)) / len(rows)

# ROC AUC by ranks (Mann-Whitney U), ties get the average rank.
order = sorted(range(len(scores)), key=lambda i: scores[i])
ranks = [0.0] * len(scores)
i = 0
while i < len(order):
    j = i
    while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
        j += 1
    for k in range(i, j + 1):
        ranks[order[k]] = (i + j) / 2 + 1
    i = j + 1
pos = sum(labels)
neg = len(labels) - pos
auc = (sum(r for r, t in zip(ranks, labels) if t) - pos * (pos + 1) / 2) / (pos * neg)

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "metrics.json"), "w") as f:
    json.dump({"accuracy": round(accuracy, 6), "auc": round(auc, 6), "log_loss": round(log_loss, 6), "rows": len(rows)}, f, indent=2)
with open(os.path.join(args.out, "predictions.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "plan", "label", "score"])
    for r, t, s in zip(rows, labels, scores):
        w.writerow([r["customer_id"], r["plan"], t, round(s, 6)])
print(f"accuracy={accuracy:.4f} auc={auc:.4f} log_loss={log_loss:.4f} on {len(rows)} rows")
