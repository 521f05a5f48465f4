"""`studio-recovery`: the admin CLI. `main()` parses, runs one command, returns its exit code.

Every failure is reported as one line on stderr with a distinct exit code
(`studio_recovery.cli.exit_codes.ExitCode`); `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio_recovery import __version__
from studio_recovery.cli.args import Parser
from studio_recovery.cli.commands import COMMANDS
from studio_recovery.cli.context import FLAG_OF_OUTPUT, Aws, Context, resolve_resources
from studio_recovery.cli.errors import CliError, translate
from studio_recovery.cli.exit_codes import ExitCode, exit_codes_epilog
from studio_recovery.cli.render import Output
from studio_recovery.observability import SERVICE_NAME

PROG = "studio-recovery"
DESCRIPTION = (
    "Operate studio-recovery: opt profiles out of restores, copy homes between profiles, "
    "open EFS to DataSync, show status, history and backups, restore by hand (also from a "
    "backup), seed the registry and check the set-up. Resource names come from --tf-output "
    "(terraform output -json) or flags."
)
SUBCOMMAND_EPILOG = (
    "Global options (--region, --profile, --endpoint-url, --tf-output, resource names, "
    "--debug) go before or after the command: see studio-recovery --help, which also lists "
    "the exit codes."
)
_RESOURCE_HELP: dict[str, tuple[str, str]] = {
    "registry_table_name": ("NAME", "registry DynamoDB table"),
    "state_machine_arn": ("ARN", "restore state machine"),
    "datasync_security_group_id": ("SG_ID", "DataSync security group"),
    "seeder_function_name": ("NAME", "seeder Lambda function"),
    "prepare_function_name": ("NAME", "prepare Lambda function (doctor reads its subnets)"),
    "event_rule_names": ("A,B", "EventBridge rule names, comma-separated"),
    "event_dead_letter_queue_url": ("URL", "event Lambda dead-letter queue"),
    "stream_failure_queue_url": ("URL", "stream Lambda on-failure queue"),
    "trail_arn": ("ARN", "the module's CloudTrail trail"),
    "datasync_subnet_ids": ("A,B", "DataSync subnet ids, comma-separated"),
    "backup_bucket_name": ("NAME", "backup S3 bucket (EBS space backups)"),
    "space_backup_lifecycle_config_arns": (
        "TYPE=ARN,..",
        "space backup lifecycle configurations, JupyterLab=ARN,CodeEditor=ARN",
    ),
}


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes (before or after the command name).

    On the sub-commands their default is SUPPRESS, so a value given before the command
    name is not overwritten by the sub-command's default; their help is shown once, by
    `studio-recovery --help`.
    """

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    def text(value: str) -> str:
        return argparse.SUPPRESS if suppress else value

    aws = parser.add_argument_group("AWS")
    aws.add_argument("--region", default=default(None), help=text("AWS region"))
    aws.add_argument("--profile", default=default(None), help=text("AWS named profile"))
    aws.add_argument(
        "--endpoint-url",
        default=default(None),
        metavar="URL",
        help=text("endpoint for every service (the sandbox: http://127.0.0.1:4599)"),
    )
    names = parser.add_argument_group("module resources (flags override --tf-output)")
    names.add_argument(
        "--tf-output",
        type=Path,
        default=default(None),
        metavar="FILE",
        help=text("JSON of `terraform output -json` for the module"),
    )
    for output, flag in FLAG_OF_OUTPUT.items():
        metavar, description = _RESOURCE_HELP[output]
        names.add_argument(
            flag, dest=output, default=default(None), metavar=metavar, help=text(description)
        )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="JSON output for scripts"
    )
    parser.add_argument(
        "--debug", action="store_true", default=default(False), help=text("show tracebacks")
    )


def build_parser() -> Parser:
    """The full argument parser (exposed for tests and documentation)."""
    parser = Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=exit_codes_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, suppress=False)
    common = Parser(add_help=False)
    _add_global_options(common, suppress=True)
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", parser_class=Parser
    )
    subparsers.required = True
    for register in COMMANDS:
        register(subparsers, [common])
    for command in subparsers.choices.values():
        command.epilog = SUBCOMMAND_EPILOG
    subparsers.add_parser(
        "sandbox", help="the offline AWS stand-in: up, down, ... (runs studio-recovery-sandbox)"
    )
    return parser


SANDBOX_MODULE = "studio_sandbox"
SANDBOX_INSTALL = "pip install -e sandbox (from the repository root; `make venv` does it)"


def _run_sandbox(argv: list[str]) -> int:
    """Hand `sandbox ...` to the sandbox's own CLI, in its own process; never import it here."""
    if importlib.util.find_spec(SANDBOX_MODULE) is None:
        sys.stderr.write(
            f"{PROG}: error: the sandbox is not installed ({SANDBOX_MODULE}): {SANDBOX_INSTALL}\n"
        )
        return ExitCode.USAGE
    os.execv(sys.executable, [sys.executable, "-m", SANDBOX_MODULE, *argv])  # noqa: S606


class _Stderr:
    """Writes to whatever `sys.stderr` is at the time of writing."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextmanager
def _library_logs_on_stderr(debug: bool) -> Iterator[None]:
    """The library logs JSON lines to stdout (right for Lambda). In the CLI stdout is for
    results: send its warnings (everything with --debug) to stderr, then put things back."""
    library = logging.getLogger(SERVICE_NAME)
    level = library.level
    handlers = [h for h in library.handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.stream for h in handlers]
    library.setLevel(logging.DEBUG if debug else logging.WARNING)
    for handler in handlers:
        handler.setStream(_Stderr())
    try:
        yield
    finally:
        library.setLevel(level)
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with `argv` (default: the process arguments); return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["sandbox"]:
        return _run_sandbox(arguments[1:])
    try:
        args = build_parser().parse_args(arguments)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return exit_.code if isinstance(exit_.code, int) else ExitCode.USAGE
    with _library_logs_on_stderr(args.debug):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    aws = Aws(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
    run: Callable[[Context], int] = args.run
    try:
        flags = {name: getattr(args, name) for name in FLAG_OF_OUTPUT}
        resources = resolve_resources(args.tf_output, flags)
        context = Context(args=args, aws=aws, resources=resources, out=Output(args.json))
        return int(run(context))
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return ExitCode.INTERRUPTED
    except Exception as exc:
        return _report(exc, aws, debug=args.debug)


def _report(exc: Exception, aws: Aws, *, debug: bool) -> int:
    """Print one line for `exc` (plus the traceback with --debug); return its exit code."""
    error = translate(exc, aws.last_action)
    if debug:
        traceback.print_exc()
    if error is None:
        error = CliError(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug)")
    sys.stderr.write(f"{PROG}: error: {error.message}\n")
    return int(error.code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
