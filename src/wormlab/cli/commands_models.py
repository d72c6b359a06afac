"""Model commands: ``wormlab model`` (solve an analytic model) and ``wormlab fit`` (fit one).

Thin: parse NAME=VALUE pairs, call :mod:`wormlab.models`, render. NumPy, SciPy and pandas
are imported inside the commands so that ``wormlab --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from wormlab.cli.app import app
from wormlab.errors import InputError

# Defaults: rcs and sir use Code Red-like numbers (K ≈ 1.8/h, Staniford et al. 2002);
# two-factor uses Zou et al.'s example; see wormlab.history for the sources.
MODEL_DEFAULTS: dict[str, dict[str, float]] = {
    "rcs": {"K": 1.8, "T": 12.0},
    "sir": {"beta": 1.8, "gamma": 0.05, "N": 360_000.0, "I0": 1.0},
    "two-factor": {"beta0N": 0.8, "gamma": 0.05, "muN": 0.06, "eta": 3.0, "N": 1e6, "I0": 1.0},
}
MODEL_HOURS = {"rcs": 24.0, "sir": 24.0, "two-factor": 80.0}
FIT_MODELS = ("rcs", "two-factor")


def parse_params(pairs: list[str], known: tuple[str, ...], model: str) -> dict[str, float]:
    """``["K=1.8", "T=12"]`` → ``{"K": 1.8, "T": 12.0}``, naming the first bad pair."""
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"--param expects NAME=VALUE, got {pair!r}")
        if name not in known:
            raise InputError(f"{model} has no parameter {name!r} (known: {', '.join(known)})")
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{model} parameter {name} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise InputError(f"{model} parameter {name} must be a finite number, got {text!r}")
        out[name] = value
    return out


def _model_table(model: str, params: dict[str, float], hours: float, step_hours: float):
    from wormlab.models.kermack import sir_table
    from wormlab.models.rcs import rcs_table
    from wormlab.models.two_factor import params_from_mapping, two_factor_table

    if model == "rcs":
        return rcs_table(params["K"], params["T"], hours, step_hours)
    if model == "sir":
        p = params
        return sir_table(p["beta"], p["gamma"], p["N"], p["I0"], hours, step_hours)
    return two_factor_table(params_from_mapping(params), hours, step_hours)


def _write_csv_atomically(frame, out: Path) -> None:
    """Write to a temporary name beside ``out`` and rename, so no half-written file remains."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        frame.to_csv(tmp, index=False, float_format="%.10g")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from None


@app.command("model")
def model_cmd(
    model: str = typer.Argument(..., help="rcs, sir or two-factor."),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="NAME=VALUE, repeatable. rcs: K (per hour), T (hours); "
        "sir: beta, gamma (per hour), N, I0; two-factor: beta0N, gamma, muN (per hour), eta, N, I0."
    ),
    hours: float | None = typer.Option(None, "--hours", help="Length of the curve in hours."),
    step_hours: float = typer.Option(0.1, "--step-hours", help="Time step of the table in hours."),
    as_json: bool = typer.Option(False, "--json", help="Print the parameters and curve as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Write the curve to this CSV file."),
) -> None:
    """Solve an analytic model (time in hours) and print, save or emit its curve.

    The CSV has columns t_hours and infected_fraction; sir and two-factor add their own.
    """
    if model not in MODEL_DEFAULTS:
        raise InputError(f"unknown model {model!r} (known: {', '.join(MODEL_DEFAULTS)})")
    if as_json and out is not None:
        raise InputError("--json and --out are alternatives: give one")
    params = dict(MODEL_DEFAULTS[model])
    params.update(parse_params(param, tuple(params), model))
    hours = MODEL_HOURS[model] if hours is None else hours
    table = _model_table(model, params, hours, step_hours)
    derived = _derived(model, params, table)

    if out is not None:
        _write_csv_atomically(table, out)
        typer.echo(f"wrote {len(table)} rows ({', '.join(table.columns)}) to {out}")
        return
    if as_json:
        doc = {"model": model, "time_unit": "hours", "params": params, "derived": derived,
               "series": table.to_dict(orient="records")}
        typer.echo(json.dumps(doc, allow_nan=False))
        return
    typer.echo(f"{model}: " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
    for key, value in derived.items():
        typer.echo(f"  {key}: {value:.6g}")
    every = max(1, int(round(1.0 / step_hours)))  # one printed row per hour
    typer.echo(table.iloc[::every].to_string(index=False, float_format=lambda v: f"{v:.6g}"))


def _derived(model: str, params: dict[str, float], table) -> dict[str, float]:
    """A few numbers a reader wants without plotting: doubling time, peak, final size."""
    if model == "rcs":
        return {"early_doubling_minutes": math.log(2) / params["K"] * 60.0}
    peak_row = table["infected_fraction"].idxmax()
    out = {
        "peak_infected_fraction": float(table["infected_fraction"].iloc[peak_row]),
        "peak_t_hours": float(table["t_hours"].iloc[peak_row]),
    }
    if model == "two-factor":
        out["final_ever_infected_fraction"] = float(table["ever_infected_fraction"].iloc[-1])
    else:
        out["final_removed_fraction"] = float(table["removed"].iloc[-1] / params["N"])
    return out


@app.command("fit")
def fit_cmd(
    series: Path = typer.Argument(..., help="A CSV (t_hours or time, plus a count column) or "
                                  "a run's timeseries.parquet."),
    model: str = typer.Option("rcs", "--model", "-m", help="rcs or two-factor."),
    column: str | None = typer.Option(
        None, "--column", help="Count column (default: infected_fraction, ever_infected, "
        "infected or count for CSV; ever_infected for Parquet)."
    ),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="NAME=VALUE: hold a parameter fixed (rcs: K, T, V; "
        "two-factor: beta0N, gamma, muN, eta, I0, N)."
    ),
    fit_plateau: bool = typer.Option(
        False, "--fit-plateau", help="rcs: fit V even for a fraction column (default V=1)."
    ),
    until_hours: float | None = typer.Option(
        None, "--until-hours", help="Fit only the first H hours (e.g. before a calendar stop)."
    ),
    bootstrap: int = typer.Option(
        0, "--bootstrap", help="Intervals from N residual-bootstrap refits instead of covariance."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    as_json: bool = typer.Option(False, "--json", help="Print the fit as JSON."),
) -> None:
    """Fit rcs or two-factor to an outbreak curve: parameters with 95% intervals, R², RMSE."""
    from wormlab.models.fitting import fit_rcs, fit_two_factor
    from wormlab.models.series import read_series

    if model not in FIT_MODELS:
        raise InputError(f"unknown model {model!r} for fit (known: {', '.join(FIT_MODELS)})")
    known = ("K", "T", "V") if model == "rcs" else tuple(MODEL_DEFAULTS["two-factor"])
    fixed = parse_params(param, known, model)
    data = read_series(series, column).until(until_hours)
    if model == "rcs":
        result = fit_rcs(data, fixed=fixed, fit_plateau=True if fit_plateau else None,
                         bootstrap=bootstrap, seed=seed)
    else:
        result = fit_two_factor(data, fixed=fixed, bootstrap=bootstrap, seed=seed)

    doc = _finite(result.to_dict())
    if as_json:
        typer.echo(json.dumps(doc, allow_nan=False))
        return
    start = f" from {doc['start_time']}" if doc["start_time"] else ""
    typer.echo(f"fit {model} to {doc['source']} ({doc['column']}, {doc['n_points']} points{start})")
    typer.echo(f"{'parameter':<10} {'value':>12}  {'interval (' + doc['interval'] + ')':<34} unit")
    for name, e in doc["params"].items():
        interval = "fixed" if e["fixed"] else f"[{_num(e['low'])}, {_num(e['high'])}]"
        typer.echo(f"{name:<10} {_num(e['value']):>12}  {interval:<34} {e['unit']}")
    typer.echo(f"R² = {_num(doc['goodness_of_fit']['r2'], 6)}   "
               f"RMSE = {_num(doc['goodness_of_fit']['rmse'])} ({doc['column']})")
    for note in doc["notes"]:
        typer.echo(note)


def _num(value, digits: int = 5) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _finite(obj):
    """JSON has no NaN or infinity: an interval the data cannot bound becomes null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj
