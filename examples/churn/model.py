"""The example's model: logistic regression on standardised features, in plain Python."""
import csv
import json
import math

FEATURES = ["age", "tenure_months", "monthly_charges", "plan_pro", "plan_team"]


def features(r):
    return [float(r["age"]), float(r["tenure_months"]), float(r["monthly_charges"]),
            1.0 if r["plan"] == "pro" else 0.0, 1.0 if r["plan"] == "team" else 0.0]


def load_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def predict(model, x):
    z = model["intercept"] + sum(w * (v - m) / s for w, v, m, s in zip(model["weights"], x, model["means"], model["stds"]))
    z = max(-30.0, min(30.0, z))
    return 1 / (1 + math.exp(-z))


def load_model(path):
    with open(path) as f:
        return json.load(f)
