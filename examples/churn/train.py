"""Train the example model: batch gradient descent with L2. Run: python3 train.py [--epochs N] [--l2 X]"""
import argparse
import json
import math

from model import FEATURES, features, load_rows

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="data/train.csv")
ap.add_argument("--out", default="models/churn.json")
ap.add_argument("--epochs", type=int, default=300)
ap.add_argument("--lr", type=float, default=0.5)
ap.add_argument("--l2", type=float, default=0.01)
args = ap.parse_args()

rows = load_rows(args.data)
X = [features(r) for r in rows]
y = [1.0 if r["churned"] == "true" else 0.0 for r in rows]
n, k = len(X), len(FEATURES)
means = [sum(x[j] for x in X) / n for j in range(k)]
stds = [math.sqrt(sum((x[j] - means[j]) ** 2 for x in X) / n) or 1.0 for j in range(k)]
Z = [[(x[j] - means[j]) / stds[j] for j in range(k)] for x in X]
w, b = [0.0] * k, 0.0
for _ in range(args.epochs):
    gw, gb = [0.0] * k, 0.0
    for z, t in zip(Z, y):
        p = 1 / (1 + math.exp(-(b + sum(wj * zj for wj, zj in zip(w, z)))))
        for j in range(k):
            gw[j] += (p - t) * z[j]
        gb += p - t
    w = [wj - args.lr * (g / n + args.l2 * wj) for wj, g in zip(w, gw)]
    b -= args.lr * gb / n
model = {"kind": "logistic-regression", "features": FEATURES, "intercept": round(b, 6),
         "weights": [round(v, 6) for v in w], "means": [round(v, 6) for v in means], "stds": [round(v, 6) for v in stds]}
with open(args.out, "w") as f:
    json.dump(model, f, indent=2)
    f.write("\n")
print(f"trained on {n} rows -> {args.out}")
