"""The investors domain: firms and theses, partners (firms), partner API keys and their scopes (keys), the
company directory and the introduction state machine (introductions), funding rounds (rounds), the fit score (matching),
and what a company lets each firm see and what firms read (sharing); webhooks by their module's name
(`domain.webhooks.Subscription`: its short names would collide).
Pure Python: no database, no network. Everything is importable from here: `domain.Firm`, `domain.best_fit`."""

from services.investors.domain import webhooks  # noqa: F401
from services.investors.domain.dealflow import *  # noqa: F403
from services.investors.domain.firms import *  # noqa: F403
from services.investors.domain.introductions import *  # noqa: F403
from services.investors.domain.keys import *  # noqa: F403
from services.investors.domain.matching import *  # noqa: F403
from services.investors.domain.rounds import *  # noqa: F403
from services.investors.domain.sharing import *  # noqa: F403
