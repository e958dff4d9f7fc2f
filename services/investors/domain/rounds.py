"""Funding rounds: recorded by a program manager or reported by a partner, then closed or cancelled. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from hubcore.errors import FailedPrecondition, InvalidArgument
from hubcore.resources import OfCompany, Versioned
from services.investors.domain.firms import MAX_PARTICIPANTS, ROUND_TYPES, won
from services.investors.domain.introductions import CANCELLED

# Funding rounds

OPEN, CLOSED = "OPEN", "CLOSED"  # and CANCELLED, shared with introductions


@dataclass(frozen=True)
class Round(Versioned, OfCompany):
    collection = "rounds"

    id: int
    company_id: int
    round_type: str
    amount: int  # KRW
    pre_money: int = 0  # KRW; 0: not disclosed
    lead_firm_id: int | None = None
    participants: tuple[tuple[int, int], ...] = ()  # (firm id, KRW), each firm once
    announced_on: date | None = None
    closed_on: date | None = None
    status: str = OPEN
    reporter: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def firm_ids(self) -> set[int]:
        return {f for f, _ in self.participants} | ({self.lead_firm_id} if self.lead_firm_id else set())

    def close(self, on: date) -> Round:
        self._require_open()
        if self.announced_on and on < self.announced_on:
            raise InvalidArgument([("close_date", "is before the round's announce date")])
        return replace(self, status=CLOSED, closed_on=on, version=self.version + 1)

    def cancel(self) -> Round:
        self._require_open()
        return replace(self, status=CANCELLED, version=self.version + 1)

    def _require_open(self) -> None:
        if self.status != OPEN:
            raise FailedPrecondition(
                f"{self.name} is {self.status}; only an OPEN round can be closed or cancelled",
                type_="ROUND_STATUS",
                subject=self.name,
            )


def new_round(
    *, company_id: int, round_type: str, amount: int, pre_money: int = 0, lead_firm_id: int | None = None,
    participants: list[tuple[int, int]] | tuple[tuple[int, int], ...] = (), announced_on: date | None = None,
    closed_on: date | None = None, status: str = OPEN, reporter: str = "", today: date | None = None,
) -> Round:  # fmt: skip
    problems = []
    if round_type not in ROUND_TYPES:
        problems.append(("round.round_type", "is required"))
    if amount <= 0:
        problems.append(("round.amount", "must be more than zero"))
    if pre_money < 0:
        problems.append(("round.pre_money_valuation", "must not be negative"))
    firms = [f for f, _ in participants]
    if len(firms) > MAX_PARTICIPANTS:
        problems.append(("round.participants", f"has more than {MAX_PARTICIPANTS} participants"))
    if len(set(firms)) != len(firms):
        problems.append(("round.participants", "names a firm twice"))
    if any(a < 0 for _, a in participants):
        problems.append(("round.participants", "has a negative amount"))
    elif sum(a for _, a in participants) > amount > 0:
        problems.append(("round.participants", f"add up to more than the round's amount ({won(amount)})"))
    if status not in (OPEN, CLOSED):
        problems.append(("round.status", "must be OPEN or CLOSED when recording a round"))
    if status == CLOSED and closed_on is None:
        closed_on = today
    if status == OPEN and closed_on is not None:
        problems.append(("round.close_date", "is set only on a closed round"))
    if today and announced_on and announced_on > today + timedelta(days=366):
        problems.append(("round.announce_date", "is more than a year ahead"))
    if today and closed_on and closed_on > today:
        problems.append(("round.close_date", "is in the future"))
    if announced_on and closed_on and closed_on < announced_on:
        problems.append(("round.close_date", "is before the announce date"))
    if problems:
        raise InvalidArgument(problems)
    if lead_firm_id and lead_firm_id not in firms:
        participants = (*participants, (lead_firm_id, 0))
    return Round(
        id=0,
        company_id=company_id,
        round_type=round_type,
        amount=amount,
        pre_money=pre_money,
        lead_firm_id=lead_firm_id,
        participants=tuple(participants),
        announced_on=announced_on,
        closed_on=closed_on,
        status=status,
        reporter=reporter,
    )


@dataclass(frozen=True)
class InvestorStats:
    """The dashboard's figures for a year (Asia/Seoul): introductions by state, rounds closed and raised."""

    year: int
    introductions_by_state: tuple[tuple[str, int], ...]
    rounds_closed: int
    funding_raised: int  # KRW
    firms: int
