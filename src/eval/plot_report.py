"""Draws the PNG plots of the offline evaluation report from its report.json.

    python src/eval/plot_report.py DIR      (reads DIR/report.json, writes DIR/*.png)

Only reads numbers computed by the TypeScript evaluation (src/cli/eval.ts); computes nothing.
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OURS = "interest-drift (encoder + categories)"
COLORS = {
    OURS: "#d62728",
    "top-category-changed": "#1f77b4",
    "js-divergence": "#2ca02c",
    "page-hinkley": "#9467bd",
    "adwin": "#8c564b",
}
plt.rcParams.update({"font.size": 11, "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 110})


def label(m):
    return "interest-drift (ours)" if m["method"] == OURS else m["method"]


def f1_vs_threshold(s, out):
    ours = s["migration"]["methods"][0]
    xs = [p["param"] for p in ours["sweep"]]
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(xs, [p["score"]["f1"] for p in ours["sweep"]], "-o", color=COLORS[OURS], lw=2.5, label="F1 (ours)")
    ax.plot(xs, [p["score"]["precision"] for p in ours["sweep"]], "--", color=COLORS[OURS], alpha=0.6, label="precision (ours)")
    ax.plot(xs, [p["score"]["recall"] for p in ours["sweep"]], ":", color=COLORS[OURS], alpha=0.8, label="recall (ours)")
    ax.axvline(ours["calibratedParam"], color="grey", lw=1)
    ax.annotate("calibrated", (ours["calibratedParam"], 0.97), ha="center", va="top", fontsize=9, color="grey",
                xycoords=("data", "axes fraction"))
    for m in s["migration"]["methods"][1:]:
        ax.axhline(m["atCalibrated"]["f1"], color=COLORS.get(m["method"], "k"), lw=1.2, alpha=0.8,
                   label=f"F1 {m['method']} (calibrated)")
    ax.set_xlabel("enter threshold of the drift score (exit = enter − 0.1)")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.set_title(f"Interest migration, {s['name']}")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def tradeoff(s, out, real):
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for m in s["migration"]["methods"]:
        key = "falseAlarmUserRate" if real else "precision"
        pts = sorted(((p["score"]["recall"], p["score"][key]) for p in m["sweep"]))
        c = COLORS.get(m["method"], "k")
        lw = 2.5 if m["method"] == OURS else 1.3
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", ms=3, color=c, lw=lw, label=label(m))
        cal = m["atCalibrated"]
        ax.plot([cal["recall"]], [cal[key]], "*", ms=14, color=c, markeredgecolor="black")
    ax.set_xlabel("recall (movers alerted in their 2nd half)" if real else "recall (migrations detected)")
    ax.set_ylabel("false-alarm rate (stable users alerted)" if real else "precision (alerts that are right)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"{s['name']}: every method across its parameter (★ = calibrated)")
    ax.legend(fontsize=9, loc="best")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def precision_recall(s, out):
    """Precision against recall over each method's parameter, with its operating points at the budgets."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    markers = {0.05: "^", 0.1: "s"}
    for m in s["migration"]["methods"]:
        pts = sorted((p["score"]["recall"], p["score"]["precision"]) for p in m["sweep"])
        c = COLORS.get(m["method"], "k")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", ms=3, color=c, lw=2.5 if m["method"] == OURS else 1.3, label=label(m))
        for b in s["migration"].get("budgets", []):
            for r in b["rows"]:
                if r["method"] == m["method"] and b["budget"] in markers:
                    ax.plot([r["score"]["recall"]], [r["score"]["precision"]], markers[b["budget"]], ms=10, color=c, markeredgecolor="black")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{s['name']}: precision-recall of every method across its parameter\n"
                 "▲ = at the 5 % stable-alert budget, ■ = at 10 % (parameters chosen on train users)", fontsize=10)
    ax.legend(fontsize=9, loc="best")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def churn_roc(s, out):
    fig, ax = plt.subplots(figsize=(6.5, 6))
    styles = ["-", "--", ":", "-.", (0, (1, 3))]
    for m, st in zip(s["churn"]["methods"], styles):
        ax.plot(m["roc"]["fpr"], m["roc"]["tpr"], linestyle=st, lw=2, label=f"{m['method']} (AUC {m['rocAuc']:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(f"Churn risk, {s['name']}\n{s['churn']['label']}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def churn_reliability(s, out):
    """Our churn risk read as a probability: mean predicted against observed rate per bin."""
    bins = [b for b in s["churn"]["calibration"]["bins"] if b["points"] > 0]
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, label="perfectly calibrated")
    ax.plot([b["meanPredicted"] for b in bins], [b["observedRate"] for b in bins], "-o", color=COLORS[OURS], lw=2,
            label=f"{s['churn']['methods'][0]['method']}\n(Brier {s['churn']['calibration']['brier']:.3f})")
    for b in bins:
        ax.annotate(str(b["points"]), (b["meanPredicted"], b["observedRate"]), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed rate of the label")
    ax.set_title(f"Churn risk calibration, {s['name']}\n{s['churn']['label']} (points per bin annotated)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def delays(s, out):
    fig, ax = plt.subplots(figsize=(8, 5))
    data, names = [], []
    for m in s["migration"]["methods"]:
        d = m["atCalibrated"]["delaysEvents"]
        data.append(d if d else [float("nan")])
        names.append(f"{label(m)}\n(n={len(d)})")
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names, fontsize=8)
    ax.set_ylabel("events after the switch until the alert")
    ax.set_title(f"Detection delay at calibrated parameters\n{s['name']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main():
    d = Path(sys.argv[1] if len(sys.argv) > 1 else "onnx/artifacts/eval")
    report = json.loads((d / "report.json").read_text())
    for s in report["sets"]:
        real = s["kind"] == "real"
        # The same rule as plotPrefix in report.ts.
        prefix = "real" if real else ("sim-hard" if "hard" in s["name"] else "sim")
        tradeoff(s, d / f"{prefix}-tradeoff.png", real)
        precision_recall(s, d / f"{prefix}-pr.png")
        churn_roc(s, d / f"{prefix}-churn-roc.png")
        if s["churn"].get("calibration"):
            churn_reliability(s, d / f"{prefix}-churn-reliability.png")
        if prefix == "sim":
            f1_vs_threshold(s, d / "sim-f1-vs-threshold.png")
            delays(s, d / "sim-delay.png")
    print(f"wrote plots to {d}")


if __name__ == "__main__":
    main()
