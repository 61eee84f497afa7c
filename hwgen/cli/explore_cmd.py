"""`hwgen explore SPACE.yaml -o DIR`: multi-objective design-space exploration (`hwgen.explore.explore`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hwgen.errors import HwgenError
from hwgen.explore import ExploreOptions, explore, load_space, preset_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explore", help="search model × accelerator × board for the Pareto front",
                       description="Multi-objective design-space exploration with Optuna on Dask.")
    p.add_argument("space", nargs="?", type=Path, help="a space YAML file (or use --preset)")
    p.add_argument("--preset", help="a shipped space: digits-up5k, charlm-ecp5")
    p.add_argument("-o", "--output", type=Path, required=True, help="folder for the study journal and the outputs")
    p.add_argument("--trials", type=int, default=50, help="evaluations (default 50)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, help="local worker processes (a LocalCluster on 127.0.0.1)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="a running `dask scheduler`")
    p.add_argument("--resume", action="store_true", help="continue the study in -o (re-queue trials left running)")
    p.add_argument("--fidelity", default="analytic", choices=("analytic", "cheap", "full", "standin"),
                   help="highest fidelity: analytic (estimates), cheap (short training), full (synthesis + full "
                        "training); standin: tests only")
    p.add_argument("--sampler", choices=("nsga2", "tpe", "random"), default=None, help="override the space's sampler")
    p.add_argument("--no-surrogate", action="store_true", help="plain sampler, no response surface")
    p.add_argument("--dashboard", type=int, default=0, metavar="PORT", help="serve optuna-dashboard on 127.0.0.1:PORT")
    p.add_argument("--quiet", action="store_true", help="no live display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.space is None) == (args.preset is None):
        raise HwgenError("give a space file or --preset NAME (one of them)")
    space = load_space(args.space if args.space is not None else preset_path(args.preset))
    outputs = explore(space, ExploreOptions(
        out_dir=args.output, trials=args.trials, jobs=args.jobs, scheduler=args.scheduler, resume=args.resume,
        fidelity=args.fidelity, sampler=args.sampler, surrogate=not args.no_surrogate, dashboard=args.dashboard,
        progress=not args.quiet))
    print(f"{outputs.trials} trials, {len(outputs.pareto)} on the Pareto front; wrote {outputs.trials_csv}, "
          f"{outputs.pareto_csv}, {outputs.pareto_png}, {outputs.report_html}")
    return 0
