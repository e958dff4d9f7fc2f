"""The program's figures on the dashboard (GetProgramStats). Pure Python."""

from __future__ import annotations

from dataclasses import dataclass

from services.companies.program.domain.selection import Round
from services.companies.program.domain.spaces import Occupancy


@dataclass(frozen=True)
class ProgramStats:
    occupancy: Occupancy  # today's, without the assignments
    latest_round: Round | None  # with its count of applications
    kpi_reporters: int  # companies that filed at least one KPI report
    gpu_hours_used: int
    technical_consultations: int
    firms_grown: int

    @property
    def applications(self) -> int:
        return self.latest_round.applications if self.latest_round else 0

    @property
    def seats(self) -> int:
        return self.latest_round.total_seats if self.latest_round else 0
