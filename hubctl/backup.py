"""hubctl backup: backups of the embedded default (`make run`'s SQLite databases and keys), on the machine
that holds its data directory. See hublocal.backup for what is copied and how, and docs/operations.md for
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hubcore.settings import Settings
from hubctl.client import Client, Commands, err, print_json

if TYPE_CHECKING:  # the backup module pulls in SQLAlchemy: imported by the commands that use it, not at start-up
    from hublocal import backup

backup_app = Commands(
    help=(
        "`make run` 데이터(SQLite 데이터베이스와 키)의 백업: 만들기, 검사, 되돌리기 (backups of `make run`'s "
        "data (SQLite databases and keys): create, verify, restore)."
    )
)

DataDir = Annotated[
    Path | None,
    typer.Option(help="The hub's data directory (default: HUB_DATA_DIR, else var/ here)", show_default=False),
]


def _data_dir(given: Path | None) -> Path:
    return (given or Settings.from_env("launcher").data_dir).resolve()


def _refuse(error: backup.BackupError, code: int) -> None:
    err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
    for problem in error.problems:
        err.print(f"  {problem}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def _databases(manifest: dict[str, Any]) -> list[str]:
    return [
        f"  {service:<14} {entry['file']:<18} revision {entry['schema_revision']}, {_size(entry['bytes'])}, "
        f"{entry['outbox_events']} events in its outbox, sha256 {entry['sha256'][:12]}…"
        for service, entry in manifest["databases"].items()
    ]


@backup_app.command("create")
def backup_create(
    hub: Client,
    directory: Annotated[
        Path | None, typer.Argument(help="A new directory (default: backups/hub-<UTC time> here)", show_default=False)
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """모든 서비스의 데이터베이스와 키를 운영 중에도 한 시점으로 백업합니다 (back up every service's database
    (one consistent instant, online while the hub runs) and the hub's keys)."""
    from hublocal import backup

    directory = directory or Path("backups") / datetime.now(UTC).strftime("hub-%Y%m%dT%H%M%SZ")
    try:
        result = backup.create(_data_dir(data_dir), directory)
    except backup.BackupError as error:
        _refuse(error, 1)
    manifest = result.manifest
    if hub.config.json:
        print_json({"directory": str(result.directory), **manifest})
        return
    files = ", ".join(manifest["files"]) or "none"
    typer.echo(
        "\n".join(
            [
                f"backed up {manifest['data_dir']} to {result.directory} in {result.seconds:.2f} s "
                f"(writers held back {manifest['writes_held_ms']:.0f} ms for the cut):",
                *_databases(manifest),
                f"  keys and markers: {files}",
                "The JetStream store is not copied: a restore rebuilds stream HUB from the outboxes.",
                "The directory holds personal data and the hub's keys (mode 0700): copy it off this machine.",
            ]
        )
    )


@backup_app.command("verify")
def backup_verify(hub: Client, directory: Annotated[Path, typer.Argument(help="A backup directory")]) -> None:
    """백업 파일을 목록(크기, sha256)과 대조하고 각 데이터베이스를 검사합니다 (check a backup's files against its
    manifest (size, sha256), and each database's integrity and schema)."""
    from hublocal import backup

    try:
        manifest = backup.verify(directory)
    except backup.BackupError as error:
        _refuse(error, 3)
    if hub.config.json:
        print_json({"directory": str(directory), "sound": True, **manifest})
        return
    typer.echo("\n".join([f"{directory}: sound, made {manifest['created_at']}", *_databases(manifest)]))


@backup_app.command("restore")
def backup_restore(
    hub: Client,
    directory: Annotated[Path, typer.Argument(help="A backup directory made by `hubctl backup create`")],
    data_dir: DataDir = None,
) -> None:
    """백업으로 허브의 데이터를 되돌립니다 (허브를 멈춘 뒤); 지금 파일은 옆으로 옮깁니다 (put a backup in place of
    the hub's data (the hub must be stopped); the current files are moved aside)."""
    from hublocal import backup

    try:
        result = backup.restore(_data_dir(data_dir), directory)
    except backup.HubRunning as error:
        _refuse(error, 5)
    except backup.BackupError as error:
        _refuse(error, 3)
    if hub.config.json:
        print_json({"directory": str(result.directory), "aside": str(result.aside), "republish": result.republish})
        return
    events = sum(result.republish.values())
    typer.echo(
        "\n".join(
            [
                f"restored the backup of {result.manifest['created_at']} into {_data_dir(data_dir)} "
                f"in {result.seconds:.2f} s:",
                *_databases(result.manifest),
                f"The files it replaced, and the old JetStream store, are in {result.aside}/.",
                f"On the next start the relays publish the {events} events of the outboxes into a new stream; "
                "consumers skip what they had applied.",
                "Start the hub: make run",
            ]
        )
    )
