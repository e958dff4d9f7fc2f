"""What people call the things a calendar page names: mentors, session types, rooms and companies by their
names rather than their numbers. Each list is asked once, all at once; one the signed-in person may not read (a
mentor may not list mentors) is simply missing, and the page names the thing by its kind and number instead
(멘토 3). Companies are named by the sessions themselves (`company_display_name`, from the consulting service's
company directory), which whoever may read a session may read, a mentor included; so are its mentor, type and room
for a founder, who may not list those (`mentor_display_name`…)."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.consulting.v1 import consulting_pb2 as spb

from services.console.backend import Refusal, Signed
from services.console.pages.home import _all, _ok
from services.console.web import Page

LIST_SIZE = 500  # the services' largest page: every mentor, type and room of a hub fits in one


@dataclass
class Directory:
    mentors: dict[str, Any] = field(default_factory=dict)  # mentors/3 -> Mentor
    types: dict[str, Any] = field(default_factory=dict)  # sessionTypes/2 -> SessionType
    rooms: dict[str, Any] = field(default_factory=dict)  # rooms/1 -> Room
    companies: dict[str, str] = field(default_factory=dict)  # companies/1 -> 메디비전
    words: dict[str, str] = field(default_factory=dict)  # companies -> "Company %(n)s", in the reader's language

    named: dict[str, str] = field(default_factory=dict)  # mentors/3 -> 김도현, as the sessions name them

    def mentor(self, ref: str) -> str:
        found = self.mentors.get(ref)
        return found.korean_name if found else self.named.get(ref) or self.unknown(ref)

    def kind(self, ref: str) -> str:
        found = self.types.get(ref)
        return found.display_name if found else self.named.get(ref) or self.unknown(ref)

    def room(self, ref: str) -> str:
        found = self.rooms.get(ref)
        return found.display_name if found else self.named.get(ref) or self.unknown(ref)

    def company(self, ref: str) -> str:
        return self.companies.get(ref) or self.unknown(ref)

    def unknown(self, ref: str) -> str:
        collection, _, number = ref.partition("/")
        return self.words[collection] % {"n": number} if collection in self.words else ref


def words(page: Page) -> dict[str, str]:
    _ = page._
    return {
        "companies": _("Company %(n)s"), "mentors": _("Mentor %(n)s"), "sessionTypes": _("Session type %(n)s"),
        "rooms": _("Room %(n)s"),
    }  # fmt: skip


def company_names(sessions: Iterable[Any]) -> dict[str, str]:
    """companies/1 -> 메디비전, as the sessions name their companies."""
    return {s.company: s.company_display_name for s in sessions if s.company_display_name}


def session_names(sessions: Iterable[Any]) -> dict[str, str]:
    """mentors/3 -> 김도현, sessionTypes/2 -> 1:1 기술 자문, rooms/1 -> 501호, as the sessions name them: what a
    founder, who may not list mentors, types or rooms, reads of them."""
    named = {}
    for s in sessions:
        for ref, shown in ((s.mentor, s.mentor_display_name), (s.session_type, s.session_type_display_name),
                           (s.room, s.room_display_name)):  # fmt: skip
            if ref and shown:
                named[ref] = shown
    return named


async def directory(page: Page, sessions: Iterable[Any] = ()) -> Directory:
    """Every mentor, session type and room, and the companies the sessions name (and their mentors, types and
    rooms, for a reader who may not list those)."""
    sessions = list(sessions)
    answers = await _all(directory_calls(page.hub))
    return Directory(
        mentors={m.name: m for m in _ok(answers, "mentors", "mentors")},
        types={t.name: t for t in _ok(answers, "types", "session_types")},
        rooms={r.name: r for r in _ok(answers, "rooms", "rooms")},
        companies=company_names(sessions),
        words=words(page),
        named=session_names(sessions),
    )


def directory_calls(hub: Signed) -> dict[str, Awaitable[Any]]:
    """What a calendar page asks to name what it shows, all at once (make bench measures the same calls)."""
    return {
        "mentors": hub.consulting.ListMentors(spb.ListMentorsRequest(page_size=LIST_SIZE)),
        "types": hub.consulting.ListSessionTypes(spb.ListSessionTypesRequest(page_size=LIST_SIZE)),
        "rooms": hub.consulting.ListRooms(spb.ListRoomsRequest(page_size=LIST_SIZE)),
    }


async def name_companies_of(page: Page, names: Directory, items: Iterable[Any]) -> None:
    """Adds the companies of action items that the page's sessions did not name (an item of an older session),
    from their sessions, each asked once."""
    wanted = {a.session for a in items if a.session and a.company not in names.companies}
    asked = {ref: page.hub.consulting.GetSession(spb.GetSessionRequest(name=ref)) for ref in wanted}
    found = [v for v in (await _all(asked)).values() if not isinstance(v, Refusal)]
    names.companies |= company_names(found)


async def every_session(hub: Signed, terms: list[str], pages: int = 10) -> list[Any]:
    """The sessions a filter finds, page after page (ordered by start time); raises the Refusal of the first."""
    found: list[Any] = []
    token = ""
    for _ in range(pages):
        asked = spb.ListSessionsRequest(filter=" AND ".join(terms), page_size=LIST_SIZE, page_token=token)
        answer = await hub.consulting.ListSessions(asked)
        found += answer.sessions
        token = answer.next_page_token
        if not token:
            break
    return found
