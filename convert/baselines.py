"""The baselines the network is measured against, each tuned by cross-validation on the training
rows only, and a paired bootstrap of the network's test-RMSE difference to each.

A baseline counts only if it had the same chance as the network: its hyperparameters are
searched by 5-fold CV on the training rows (RandomizedSearchCV, a fixed seed), then it is refitted
on every training row and scored once on the test rows. LightGBM and XGBoost are training-only
dependencies (pyproject's train extra); a missing one is skipped and said so.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

CV_FOLDS = 5
SEARCHES = 16  # random configurations per model
SEED = 0
BOOTSTRAP = 4000  # paired resamples of the test rows
CONFIDENCE = 0.95


def candidates() -> dict[str, tuple[Any, dict[str, list]]]:
    """name -> (estimator, search space); single-threaded so that results repeat."""
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

    out: dict[str, tuple[Any, dict[str, list]]] = {
        "hist_gradient_boosting": (HistGradientBoostingRegressor(random_state=SEED, max_iter=1000, early_stopping=False), {
            "learning_rate": [0.01, 0.02, 0.05, 0.1], "max_iter": [100, 200, 400, 800],
            "max_leaf_nodes": [4, 8, 16, 31], "min_samples_leaf": [10, 20, 40, 80], "l2_regularization": [0.0, 1.0, 10.0],
        }),
        "random_forest": (RandomForestRegressor(random_state=SEED, n_estimators=300, n_jobs=1), {
            "max_features": [0.2, 0.33, 0.5, 0.7], "min_samples_leaf": [1, 2, 4, 8], "max_depth": [None, 12, 20],
        }),
    }
    if importlib.util.find_spec("lightgbm"):
        from lightgbm import LGBMRegressor

        out["lightgbm"] = (LGBMRegressor(random_state=SEED, n_jobs=1, verbose=-1, deterministic=True), {
            "learning_rate": [0.01, 0.02, 0.05, 0.1], "n_estimators": [100, 200, 400, 800],
            "num_leaves": [4, 8, 16, 31], "min_child_samples": [10, 20, 40, 80], "subsample": [0.7, 1.0],
            "subsample_freq": [1], "colsample_bytree": [0.5, 0.8, 1.0], "reg_lambda": [0.0, 1.0, 10.0],
        })
    if importlib.util.find_spec("xgboost"):
        from xgboost import XGBRegressor

        out["xgboost"] = (XGBRegressor(random_state=SEED, n_jobs=1, tree_method="hist"), {
            "learning_rate": [0.01, 0.02, 0.05, 0.1], "n_estimators": [100, 200, 400, 800],
            "max_depth": [2, 3, 4, 6], "min_child_weight": [1, 5, 10], "subsample": [0.7, 1.0],
            "colsample_bytree": [0.5, 0.8, 1.0], "reg_lambda": [0.0, 1.0, 10.0],
        })
    return out


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of predictions p against targets y (the network's and the baselines' alike)."""
    err = np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    rmse = float(np.sqrt(np.mean(err**2)))
    mae = float(np.mean(np.abs(err)))
    r2 = float(1 - np.sum(err**2) / np.sum((y - np.mean(y)) ** 2))
    return {"rmse": rmse, "mae": mae, "r2": r2}


def tuned(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
          searches: int = SEARCHES) -> dict[str, dict[str, Any]]:
    """name -> {"params", "cv_rmse", "predicted" (on x_test)}, linear regression included untuned."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, RandomizedSearchCV

    out = {"linear_regression": {"params": {}, "cv_rmse": None,
                                 "predicted": LinearRegression().fit(x_train, y_train).predict(x_test)}}
    cv = KFold(CV_FOLDS, shuffle=True, random_state=SEED)
    for name, (estimator, space) in candidates().items():
        search = RandomizedSearchCV(estimator, space, n_iter=searches, cv=cv, random_state=SEED, n_jobs=1,
                                    scoring="neg_root_mean_squared_error", refit=True)
        search.fit(x_train, y_train)
        out[name] = {"params": {k: v for k, v in search.best_params_.items()}, "cv_rmse": float(-search.best_score_),
                     "predicted": search.best_estimator_.predict(x_test)}
    return out


def refit(name: str, params: dict[str, Any], x_train: np.ndarray, y_train: np.ndarray) -> Any:
    """One baseline fitted with the given (committed) hyperparameters."""
    from sklearn.linear_model import LinearRegression

    if name == "linear_regression":
        return LinearRegression().fit(x_train, y_train)
    estimator, _ = candidates()[name]
    return estimator.set_params(**params).fit(x_train, y_train)


def rmse_difference(y: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> dict[str, Any]:
    """Test RMSE(ours) - RMSE(theirs) and its paired bootstrap interval (the same resampled rows for
    both): "better" or "worse" when the interval excludes 0, else "level"."""
    y, ours, theirs = (np.asarray(a, dtype=np.float64) for a in (y, ours, theirs))
    rng = np.random.default_rng(SEED)
    pick = rng.integers(0, len(y), size=(BOOTSTRAP, len(y)))
    ours_sq, theirs_sq = (ours - y) ** 2, (theirs - y) ** 2
    diffs = np.sqrt(ours_sq[pick].mean(axis=1)) - np.sqrt(theirs_sq[pick].mean(axis=1))
    tail = (1 - CONFIDENCE) / 2
    low, high = (float(v) for v in np.quantile(diffs, [tail, 1 - tail]))
    verdict = "better" if high < 0 else "worse" if low > 0 else "level"
    return {"difference": float(np.sqrt(ours_sq.mean()) - np.sqrt(theirs_sq.mean())), "low": low, "high": high,
            "confidence": CONFIDENCE, "resamples": BOOTSTRAP, "verdict": verdict}
