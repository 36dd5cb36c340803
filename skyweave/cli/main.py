"""The ``skyweave`` command: one entry point, one subcommand per job.

Subcommands live in their own modules and are imported only when run, so ``skyweave --help``
answers at once and one broken optional piece never hides the others.

Errors (see :mod:`skyweave.cli.common`): a usage error exits 2, a failure exits 1, each with one
``Error: `` line naming the thing at fault. As a last resort, an OSError or ValueError (a
FormatError among them) that a command let through becomes such a line too, never a traceback;
``SKYWEAVE_DEBUG=1`` re-raises it for developers.
"""

from __future__ import annotations

import importlib
import re
import sys
import textwrap

import click

from skyweave import __version__

#: name -> (module, attribute, one-line help shown by ``skyweave --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("skyweave.cli.demo_cmd", "demo", "Run the main job end to end on the trilateral scenario."),
    "simulate": ("skyweave.cli.simulate_cmd", "simulate", "Simulate a scenario: sensors.json, detections.jsonl, truth.jsonl."),
    "validate": ("skyweave.cli.validate_cmd", "validate", "Check a scenario folder's files line by line."),
    "track": ("skyweave.cli.track_cmd", "track", "Track detections into tracks.jsonl."),
    "eval": ("skyweave.cli.eval_cmd", "eval_", "Score tracks against truth: GOSPA, OSPA, RMSE, SIAP, ANEES."),
    "node": ("skyweave.cli.node_cmd", "node", "Run one nation's node over NATS: track, warn, share, fuse."),
    "network": ("skyweave.cli.network_cmd", "network", "Run every nation's node on a scenario (in process or over NATS)."),
    "warn": ("skyweave.cli.warn_cmd", "warn", "Track a scenario folder and warn of ballistic missiles: launch, impact, time to go."),
    "ingest": ("skyweave.cli.ingest_cmd", "ingest", "Decode an ASTERIX, Beast, AVR or SBS-1 recording into detections.jsonl."),
    "export": ("skyweave.cli.export_cmd", "export", "Write tracks and alerts as ASTERIX CAT062, Cursor-on-Target, GeoJSON or KML."),
    "replay": ("skyweave.cli.replay_cmd", "replay", "Re-drive every node of a journal and write its picture files again."),
    "serve": ("skyweave.cli.serve_cmd", "serve", "Serve the joint command view: the live picture per nation on the web."),
    "users": ("skyweave.cli.users_cmd", "users", "Add, remove and list the view's users (nation, role, hashed password)."),
}


def help_list(lines, width: int = 76) -> str:
    """Indented lines kept one item per line in --help (click's ``\\b`` marker), each wrapped at
    ``width`` with a hanging indent instead of being run together into one paragraph."""
    out = ["\b"]
    for line in lines:
        if not line.strip():
            continue
        ind = len(line) - len(line.lstrip())
        out += textwrap.wrap(line.strip(), max(width, 40), initial_indent=" " * ind, subsequent_indent=" " * (ind + 4),
                             break_long_words=False, break_on_hyphens=False) or [line]
    return "\n".join(out)


def epilog_lists(epilog: str | None) -> str | None:
    """An epilog whose paragraphs of several lines (lists of parameters, keys, ...) are printed one
    item per line: click would otherwise run each paragraph together and rewrap it."""
    if not epilog or "\b" in epilog:
        return epilog
    paras = re.split(r"\n[ \t]*\n", epilog)
    return "\n\n".join(help_list(p.split("\n")) if p.count("\n") else p for p in paras)


def _adopt(cmd):
    """A subcommand (and a group's own subcommands) with its epilog's lists kept one item per line."""
    cmd.epilog = epilog_lists(cmd.epilog)
    for sub in getattr(cmd, "commands", {}).values():
        _adopt(sub)
    return cmd


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            return _adopt(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError) as e:  # a piece not built yet: say so, do not crash --help
            why = str(e)  # `e` itself is gone once the except block ends

            @click.command(name=name, help=COMMANDS[name][2])
            def missing():
                from skyweave.cli.common import Failure

                raise Failure(f"'{name}' is not available in this build ({why})")

            return missing

    def main(self, *args, **kwargs):
        """Run the command line; an OSError or ValueError a command did not catch becomes one
        ``Error:`` line and exit status 1 (``SKYWEAVE_DEBUG=1``: the traceback instead)."""
        try:
            return super().main(*args, **kwargs)
        except (OSError, ValueError) as e:
            from skyweave.cli.common import DEBUG_ENV, Failure, debug, describe_error

            if debug():
                raise
            Failure(f"{describe_error(e)} ({type(e).__name__}; {DEBUG_ENV}=1 shows where)").show()
            sys.exit(1)

    def format_commands(self, ctx, formatter):
        rows = [(n, COMMANDS[n][2]) for n in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skyweave")
def main():
    """skyweave: one common air and missile picture for allied nations.

    Simulate a scenario, track it, score the result. Every file is one of the formats of
    docs/formats.md. skyweave builds a picture and warnings for people; it never controls a weapon.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
