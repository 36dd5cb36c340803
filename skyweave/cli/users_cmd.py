"""``skyweave users add|remove|list``: the view's users, stored hashed (argon2) in a JSON file."""

from __future__ import annotations

from pathlib import Path

import click

from skyweave.cli.common import Failure

DEFAULT_USERS = Path("users.json")

users_file = click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_USERS,
                          show_default=True, help="the users file (created; mode 0600)")


def _store(path: Path):
    from skyweave.web.users import UserStore

    if path.is_dir():
        raise Failure(f"--file {path}: is a folder, expected the users file")
    try:
        return UserStore(path)
    except ValueError as e:
        raise Failure(str(e)) from None


@click.group()
def users():
    """Add, remove and list the users of `skyweave serve` (nation, role, hashed password).

    Roles: viewer (sees its nation's picture), operator (also sets a track's standard identity),
    admin (also reads the audit log, the user list and /metrics).
    """


@users.command()
@click.argument("user")
@click.option("--nation", required=True, help="the user's nation (alpha-3, such as JPN): the picture they see")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), default="viewer", show_default=True)
@click.option("--password", help="the password (at least 8 characters); prompted for when not given")
@click.option("--replace", is_flag=True, help="change an existing user")
@users_file
def add(user, nation, role, password, replace, path):
    """Add USER with a nation and a role."""
    if password is None:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    store = _store(path)
    try:
        store.add(user, nation, role, password, replace=replace)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    except OSError as e:
        raise Failure(f"--file {path}: cannot write it ({(e.strerror or str(e)).lower()})") from None
    click.echo(f"{'changed' if replace else 'added'} {user} ({nation}, {role}) in {path}")


@users.command()
@click.argument("user")
@users_file
def remove(user, path):
    """Remove USER."""
    store = _store(path)
    try:
        store.remove(user)
    except ValueError as e:
        raise Failure(f"--file {path}: {e}") from None
    except OSError as e:
        raise Failure(f"--file {path}: cannot write it ({(e.strerror or str(e)).lower()})") from None
    click.echo(f"removed {user} from {path}")


@users.command(name="list")
@users_file
def list_(path):
    """List the users (never their passwords)."""
    store = _store(path)
    if not path.exists():
        raise Failure(f"--file {path}: no such file; add a user first (skyweave users add)")
    for u in store.list():
        click.echo(f"{u.user}\t{u.nation}\t{u.role}")
