"""PlaybookService: the rules program managers read and change, their switch, the dry run and the firings.
Each method parses its request, calls one use case (usecases.py) and converts the result (convert.py); the
input rules and roles are in policy.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TypeAlias

import grpc
from hub.playbooks.v1 import playbooks_pb2 as pb
from hub.playbooks.v1 import playbooks_pb2_grpc

from hubcore.convert import instant
from hubcore.db import Database, now
from hubcore.requests import page_size, parse_filter, parse_name
from hubcore.rows import keyset_page
from hubcore.servicing import Api
from services.playbooks import convert, domain, usecases
from services.playbooks.policy import FIRING_FILTER

Context: TypeAlias = grpc.aio.ServicerContext
Clock = Callable[[], datetime]


class PlaybookApi(Api, playbooks_pb2_grpc.PlaybookServiceServicer):
    def __init__(self, db: Database, clock: Clock = now) -> None:
        super().__init__(db)
        self.clock = clock

    async def CreatePlaybook(self, request: pb.CreatePlaybookRequest, context: Context) -> pb.Playbook:
        given = convert.playbook_of(request.playbook)
        create = lambda uow: usecases.create_playbook(uow, given)  # noqa: E731
        return await self._once("CreatePlaybook", request, pb.Playbook, create, convert.playbook_pb)

    async def GetPlaybook(self, request: pb.GetPlaybookRequest, context: Context) -> pb.Playbook:
        return await self._get(request.name, "playbooks", usecases.get_playbook, convert.playbook_pb)

    async def ListPlaybooks(self, request: pb.ListPlaybooksRequest, context: Context) -> pb.ListPlaybooksResponse:
        fetch = partial(usecases.list_playbooks, self.db)
        page, token = await keyset_page("playbooks", request.page_token, page_size(request.page_size), fetch)
        return pb.ListPlaybooksResponse(playbooks=[convert.playbook_pb(p) for p in page], next_page_token=token)

    async def UpdatePlaybook(self, request: pb.UpdatePlaybookRequest, context: Context) -> pb.Playbook:
        return await self._update(request, "playbook", "playbooks", convert.changes_of, usecases.update_playbook,
                                  convert.playbook_pb)  # fmt: skip

    async def EnablePlaybook(self, request: pb.EnablePlaybookRequest, context: Context) -> pb.Playbook:
        return await self._switch(request.name, request.etag, True)

    async def DisablePlaybook(self, request: pb.DisablePlaybookRequest, context: Context) -> pb.Playbook:
        return await self._switch(request.name, request.etag, False)

    async def _switch(self, name: str, etag: str, enabled: bool) -> pb.Playbook:
        number = parse_name(name, "playbooks")
        at = self.clock()
        switch = lambda uow: usecases.set_enabled(uow, number, name, etag, enabled, at)  # noqa: E731
        return convert.playbook_pb(await self._in_write(switch))

    async def DryRunPlaybook(self, request: pb.DryRunPlaybookRequest, context: Context) -> pb.DryRunPlaybookResponse:
        given = request.HasField("playbook")
        usecases.stored_or_given(request.name, request.playbook if given else None)
        start, end = domain.check_window(
            instant(request.start_time) if request.HasField("start_time") else None,
            instant(request.end_time) if request.HasField("end_time") else None,
        )
        if given:
            item = convert.playbook_of(request.playbook)
        else:
            item = await usecases.get_playbook(self.db, parse_name(request.name, "playbooks"), request.name)
        firings, read = await usecases.dry_run(self.db, item, start, end)
        return pb.DryRunPlaybookResponse(firings=[convert.firing_pb(f) for f in firings], facts_read=read)

    async def ListFirings(self, request: pb.ListFiringsRequest, context: Context) -> pb.ListFiringsResponse:
        terms = parse_filter(request.filter, FIRING_FILTER)
        fetch = partial(usecases.list_firings, self.db, terms)
        size = page_size(request.page_size)
        page, token = await keyset_page(f"firings|{sorted(terms.items())}", request.page_token, size, fetch)
        return pb.ListFiringsResponse(firings=[convert.firing_pb(f) for f in page], next_page_token=token)

    async def GetFiring(self, request: pb.GetFiringRequest, context: Context) -> pb.Firing:
        return await self._get(request.name, "firings", usecases.get_firing, convert.firing_pb)
