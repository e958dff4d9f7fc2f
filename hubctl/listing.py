"""The list and show commands of a simple resource (a table of all of them, one by its id), made once for each:
`hubctl rooms list|show`, `hubctl session-types list|show`."""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from google.protobuf.message import Message

from hubctl import args
from hubctl.client import Client, Commands


def list_and_show(
    group: Commands, *, korean: str, english: str, collection: str, example: str, columns: Sequence[str],
    row: Callable[[Any], Sequence[Any]], rpcs: Callable[[Client], tuple[Callable[..., Any], Callable[..., Any]]],
    list_request: Callable[[], Message], field: str, get_request: Callable[..., Message],
) -> None:  # fmt: skip
    """Adds `list` (every one, through all pages, titled "<title> (count)") and `show ID` (one, by its number or
    collection/number) to group. rpcs(hub) gives the stubs' List and Get methods."""
    title = f"{korean} {english}"

    def listed(hub: Client) -> None:
        listing, _ = rpcs(hub)
        hub.table(hub.pages(listing, list_request(), field), title, columns, row)

    def shown(hub: Client, name: str) -> None:
        _, get = rpcs(hub)
        found = hub.call(get, get_request(name=args.name(collection, name)))
        hub.show(found, found.name, columns, [row(found)])

    listed.__doc__ = f"{korean} 목록 (every one of the {english})."
    shown.__doc__ = f"{korean} 하나 (one of the {english})."
    shown.__annotations__ = {
        "hub": Client,
        "name": Annotated[str, typer.Argument(metavar="ID", help=f"{example} or {collection}/{example}")],
        "return": None,
    }
    listed.__annotations__ = {"hub": Client, "return": None}
    group.command("list")(listed)
    group.command("show")(shown)
