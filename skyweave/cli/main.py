"""The ``skyweave`` command: one entry point, one subcommand per job.

Subcommands live in their own modules and are imported only when run, so ``skyweave --help``
answers at once and one broken optional piece never hides the others.
"""

from __future__ import annotations

import importlib

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
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:  # a piece not built yet: say so, do not crash --help
            why = str(e)  # `e` itself is gone once the except block ends

            @click.command(name=name, help=COMMANDS[name][2])
            def missing():
                raise click.ClickException(f"'{name}' is not available in this build ({why})")

            return missing

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
