"""Generate the example's synthetic churn data (deterministic). Run: python3 make_data.py"""
import csv
import math
import random

PLANS = ["basic", "pro", "team"]


def row(rng, i, shift=0.0):
    age = max(18, min(90, int(rng.gauss(42 + shift * 6, 12))))
    tenure = max(0, int(rng.expovariate(1 / (24 - shift * 4))))
    plan = rng.choices(PLANS, weights=[5, 3, 2])[0]
    charges = round({"basic": 20, "pro": 45, "team": 80}[plan] + rng.gauss(0, 8), 2)
    z = -0.9 + 0.035 * (age - 42) * -1 - 0.06 * tenure + 0.025 * (charges - 40) + (0.4 if plan == "basic" else -0.3)
    p = 1 / (1 + math.exp(-z))
    churned = rng.random() < p
    email = f"user{i}@example.com" if rng.random() > 0.1 else ""
    return {
        "customer_id": f"C{i:05d}",
        "age": age,
        "tenure_months": tenure,
        "plan": plan,
        "monthly_charges": charges,
        "email": email,
        "churned": "true" if churned else "false",
    }


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


rng = random.Random(7)
write("data/train.csv", [row(rng, i) for i in range(1, 801)])
write("data/test.csv", [row(rng, i) for i in range(801, 1101)])
write("data/recent.csv", [row(rng, i, shift=0.3) for i in range(1101, 1401)])
