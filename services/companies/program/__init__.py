"""ProgramService: the hub program around the companies (selection, spaces, KPI reports, support, milestones and
growth). See README.md in this folder."""
