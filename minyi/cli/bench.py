"""`minyi bench`: every benchmark, one table (the same code as `python -m bench`)."""

from __future__ import annotations

import argparse

from minyi.cli.common import CommandError, Subcommands
from minyi.settings import Settings


def register(sub: Subcommands) -> None:
    p = sub.add_parser("bench", help="run every benchmark and print one table (docs/BENCHMARKS.md)")
    try:
        from bench.__main__ import add_arguments
    except ImportError:  # an install without the repository's bench/ folder: say so when asked
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(handler=_missing)
        return
    add_arguments(p)
    p.set_defaults(handler=command)


def _missing(settings: Settings, args: argparse.Namespace) -> None:
    raise CommandError("the benchmarks are not installed; run `python -m bench` in the repository "
                       "/ 未安装基准测试，请在代码仓库中运行 python -m bench")


def command(settings: Settings, args: argparse.Namespace) -> None:
    """Run the benchmarks; a failed one (or a missed goal with --strict) makes the exit status 1."""
    from bench.__main__ import main

    if main(args, argv=_argv(args)) != 0:
        raise CommandError("benchmarks failed or missed their goals / 基准测试未通过")


def _argv(args: argparse.Namespace) -> list[str]:
    """The options as typed, for the command line docs/BENCHMARKS.md records."""
    out = ["--quick"] if args.quick else []
    if args.only:
        out += ["--only", args.only]
    if args.strict:
        out.append("--strict")
    if args.write_doc:
        out.append("--write-doc")
    return out
