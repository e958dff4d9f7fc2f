"""What callers may send and who may call, declared once for both gRPC services: the input RULES the
server checks before a method runs, the roles per method, and what each List may filter on.

One place per field: presence, lengths and counts are here; the domain checks vocabularies and
relationships (a known sector, a ticket range, a transition) and does not repeat these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_keys_pb2 as kpb
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubcore import errors
from hubcore.requests import (
    Check,
    Rules,
    e164,
    email,
    length,
    max_items,
    required,
    short_value,
    url,
)
from hubcore.server import ADMIN, FOUNDER, PARTNER, Bound, RolePolicy, also_for_services
from services.investors import domain
from services.investors.convert import names
from services.investors.webhook_convert import MUTABLE as WEBHOOK_MUTABLE

DEFAULT_MATCHES, MAX_MATCHES = 20, 100

FIRM_FIELDS: dict[str, list[Check]] = {
    "firm.korean_name": [required, length(1, 100)],
    "firm.english_name": [length(1, 100)],
    "firm.type": [required],
    "firm.website": [url],
    "firm.description": [length(0, 2000)],
    "firm.theses": [max_items(domain.MAX_THESES)],
}
PARTNER_FIELDS: dict[str, list[Check]] = {
    "partner.korean_name": [required, length(1, 100)],
    "partner.english_name": [length(1, 100)],
    "partner.title": [length(0, 100)],
    "partner.email": [email, length(3, 200)],
    "partner.phone": [e164],
    "partner.focus": [max_items(domain.MAX_LABELS, length(1, 50))],
}
FIRM_MUTABLE = frozenset({"korean_name", "english_name", "type", "website", "description", "theses"})
PARTNER_MUTABLE = frozenset({"korean_name", "english_name", "title", "email", "phone", "focus"})
LISTING: dict[str, list[Check]] = {"filter": [length(0, 500)]}
REQUEST_ID: dict[str, list[Check]] = {"request_id": [length(1, 100)]}
NAME: Rules = Rules({"name": [required]})


# A reason: required of a program manager acting for a company (the use case: domain.acting_for).
REASON: dict[str, list[Check]] = {"reason": [length(0, 500)]}
GRANT_GROUPS: dict[str, list[Check]] = {"sharing_grant.field_groups": [max_items(len(domain.GROUPS))]}


def score_range(value: int) -> str | None:
    return "must be between 0 and 100" if not 0 <= value <= 100 else None


# Webhooks: the same request messages on InvestorService (program managers) and PartnerService (partners).
SUBSCRIPTION_FIELDS: dict[str, list[Check]] = {
    "webhook_subscription.url": [required, length(1, 500)],
    "webhook_subscription.event_types": [max_items(domain.webhooks.MAX_EVENT_TYPES, length(1, 50))],
    "webhook_subscription.companies": [max_items(domain.webhooks.MAX_FILTER_ITEMS)],
    "webhook_subscription.firms": [max_items(domain.webhooks.MAX_FILTER_ITEMS)],
    "webhook_subscription.description": [length(0, 200)],
}
WEBHOOK_RULES: dict[type, Rules] = {
    wpb.CreateWebhookSubscriptionRequest: Rules({**SUBSCRIPTION_FIELDS, **REQUEST_ID}),
    wpb.ListWebhookSubscriptionsRequest: Rules(LISTING),
    wpb.GetWebhookSubscriptionRequest: NAME,
    wpb.UpdateWebhookSubscriptionRequest: Rules(
        {"webhook_subscription.name": [required], **SUBSCRIPTION_FIELDS},
        "update_mask",
        "webhook_subscription",
        WEBHOOK_MUTABLE,
    ),
    wpb.DeleteWebhookSubscriptionRequest: NAME,
    wpb.RotateWebhookSecretRequest: NAME,
    wpb.ListWebhookDeliveriesRequest: Rules({"parent": [required], **LISTING}),
    wpb.ReplayWebhookDeliveryRequest: NAME,
    wpb.SendTestWebhookRequest: NAME,
}
# What each webhook method does, for the keys' scopes (resource group "webhooks"): reads change nothing; writes
# change subscriptions or queue deliveries.
WEBHOOK_GROUP = "webhooks"
WEBHOOK_ACCESS: dict[str, str] = {
    "ListWebhookSubscriptions": "read",
    "GetWebhookSubscription": "read",
    "ListWebhookDeliveries": "read",
    "CreateWebhookSubscription": "write",
    "UpdateWebhookSubscription": "write",
    "DeleteWebhookSubscription": "write",
    "RotateWebhookSecret": "write",
    "ReplayWebhookDelivery": "write",
    "SendTestWebhook": "write",
}
MAX_REPLAYS_SHOWN = 500


def year_range(value: int) -> str | None:
    return "must be 0 (this year) or between 2000 and 2100" if value and not 2000 <= value <= 2100 else None


RULES: dict[type, Rules] = {
    pb.CreateFirmRequest: Rules({**FIRM_FIELDS, **REQUEST_ID}),
    pb.GetFirmRequest: NAME,
    pb.ListFirmsRequest: Rules({**LISTING, "query": [length(0, 100)]}),
    pb.UpdateFirmRequest: Rules({"firm.name": [required], **FIRM_FIELDS}, "update_mask", "firm", FIRM_MUTABLE),
    pb.CreatePartnerRequest: Rules({"partner.firm": [required], **PARTNER_FIELDS, **REQUEST_ID}),
    pb.GetPartnerRequest: NAME,
    pb.ListPartnersRequest: Rules(LISTING),
    pb.UpdatePartnerRequest: Rules(
        {"partner.name": [required], **PARTNER_FIELDS}, "update_mask", "partner", PARTNER_MUTABLE
    ),
    pb.CreateApiKeyRequest: Rules(
        {
            "api_key.partner": [required],
            "api_key.description": [length(0, 200)],
            "api_key.scopes": [max_items(2 * len(domain.KEY_GROUPS) + 2, length(1, 40))],
        }
    ),
    pb.ListApiKeysRequest: Rules(LISTING),
    pb.RevokeApiKeyRequest: NAME,
    kpb.RotateApiKeyRequest: NAME,
    pb.ListPartnerCallsRequest: Rules(LISTING),
    pb.MatchInvestorsRequest: Rules({"company": [required]}),
    pb.MatchCompaniesRequest: Rules({"firm": [required]}),
    pb.CreateIntroductionRequest: Rules(
        {
            "introduction.company": [required],
            "introduction.firm": [required],
            # The domain also refuses a blank note (new_introduction); this rule answers first, with the
            # request's other problems, and says "is required" of a note of invisible characters too.
            "introduction.note": [required, length(1, 2000)],
            "introduction.shared_fields": [max_items(len(domain.SHAREABLE_FIELDS))],
            **REQUEST_ID,
        }
    ),
    pb.GetIntroductionRequest: NAME,
    pb.ListIntroductionsRequest: Rules(LISTING),
    pb.ChangeIntroductionStateRequest: Rules({"name": [required], "state": [required], "reason": [length(0, 500)]}),
    pb.ListCompanyIntroductionsRequest: Rules({"parent": [required], **LISTING}),
    pb.AnswerIntroductionRequest: Rules({"name": [required], **REASON}),
    pb.ListSharingGrantsRequest: Rules({"parent": [required]}),
    pb.CreateSharingGrantRequest: Rules(
        {"parent": [required], "sharing_grant.firm": [required], **GRANT_GROUPS, **REASON}
    ),
    pb.UpdateSharingGrantRequest: Rules({"sharing_grant.name": [required], **GRANT_GROUPS, **REASON}),
    pb.RevokeSharingGrantRequest: Rules({"name": [required], **REASON}),
    pb.ListCompanyReadsRequest: Rules({"parent": [required], **LISTING}),
    pb.CreateRoundRequest: Rules({"round.company": [required], "round.round_type": [required], **REQUEST_ID}),
    pb.GetRoundRequest: NAME,
    pb.ListRoundsRequest: Rules(LISTING),
    pb.CloseRoundRequest: NAME,
    pb.CancelRoundRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    pb.GetInvestorStatsRequest: Rules({"year": [year_range]}),
    **WEBHOOK_RULES,
}
# Program managers only, and other services for the dashboard's figures; partners have their own API. Founders
# answer their company's introductions and decide what firms see of it: bound to their company where the
# request names it, else the use case checks (another company's introduction is NOT_FOUND for them).
FOR_FOUNDERS = {
    "ListCompanyIntroductions": "parent",
    "ListSharingGrants": "parent",
    "CreateSharingGrant": "parent",
    "UpdateSharingGrant": "sharing_grant.name",
    "RevokeSharingGrant": "name",
    "ListCompanyReads": "parent",
}
ROLES: dict[str, RolePolicy] = {
    **also_for_services("GetInvestorStats"),
    **{method: frozenset({ADMIN, Bound(FOUNDER, field)}) for method, field in FOR_FOUNDERS.items()},
    "AnswerIntroduction": frozenset({ADMIN, FOUNDER}),
    # The playbooks service shortlists investors and proposes introductions its rules call for (service token).
    **also_for_services("MatchInvestors", "CreateIntroduction"),
}
DEFAULT_ROLES = frozenset({ADMIN})

PARTNER_RULES: dict[type, Rules] = {
    ppb.PartnerServiceListIntroductionsRequest: Rules({"filter": [length(0, 200)]}),
    ppb.PartnerServiceGetIntroductionRequest: NAME,
    ppb.RespondToIntroductionRequest: Rules({"name": [required], **REASON}),
    ppb.RecordMeetingRequest: Rules({"name": [required], **REASON}),
    ppb.RecordOutcomeRequest: Rules({"name": [required], "outcome": [required], **REASON}),
    ppb.ReportRoundRequest: Rules({"round.company": [required], "round.round_type": [required], **REQUEST_ID}),
    dpb.ListDealFlowRequest: Rules({"filter": [length(0, 500)], "min_score": [score_range]}),
    dpb.RequestIntroductionRequest: Rules({"company": [required], "note": [required, length(1, 2000)], **REQUEST_ID}),
    dpb.ListCompanyUpdatesRequest: Rules({"filter": [length(0, 200)]}),
    **WEBHOOK_RULES,
}
# Every method: partners only (an admin token is PERMISSION_DENIED there; admins use InvestorService).
PARTNER_ROLES: dict[str, frozenset[str]] = {}
PARTNER_DEFAULT_ROLES = frozenset({PARTNER})
# The scope of a key each PartnerService method needs: declared here, once. A method missing here stops the
# server from starting (partner_access.scopes_by_path), and the scope tests take their cases from this table.
PARTNER_SCOPES: dict[str, domain.Scope] = {
    "GetMyApiKey": domain.ANY_KEY,
    "ListIntroductions": domain.reads("introductions"),
    "GetIntroduction": domain.reads("introductions"),
    "RespondToIntroduction": domain.writes("introductions"),
    "RecordMeeting": domain.writes("introductions"),
    "RecordOutcome": domain.writes("introductions"),
    "ReportRound": domain.writes("rounds"),
    "ListDealFlow": domain.reads("dealflow"),
    "RequestIntroduction": domain.writes("dealflow"),
    "ListCompanyUpdates": domain.reads("updates"),
    **{
        method: domain.reads(WEBHOOK_GROUP) if access == "read" else domain.writes(WEBHOOK_GROUP)
        for method, access in WEBHOOK_ACCESS.items()
    },
}

# What each List may filter on: field -> how a value is read.
Filter = dict[str, Callable[[str], Any]]
INTRODUCTION_STATE = short_value(pb.IntroductionState, "INTRODUCTION_STATE")
FIRM_FILTER: Filter = {"type": short_value(pb.FirmType, "FIRM_TYPE")}
PARTNER_FILTER: Filter = {"firm": names("firms")}
API_KEY_FILTER: Filter = {"partner": names("partners"), "firm": names("firms")}
PARTNER_CALL_FILTER: Filter = {"firm": names("firms"), "api_key": names("apiKeys"), "code": lambda v: v.strip().upper()}
INTRODUCTION_FILTER: Filter = {"company": names("companies"), "firm": names("firms"), "state": INTRODUCTION_STATE}
ROUND_FILTER: Filter = {
    "company": names("companies"),
    "status": short_value(pb.RoundStatus, "ROUND_STATUS"),
    "firm": names("firms"),
}
SHARED_FILTER: Filter = {"state": INTRODUCTION_STATE}
DEAL_FLOW_FILTER: Filter = {
    "sector": lambda v: v.strip().upper(),
    "stage": lambda v: v.strip().upper(),
    "tag": lambda v: v.strip(),
    "thesis": lambda v: v.strip(),
}
UPDATE_FILTER: Filter = {"company": names("companies")}
COMPANY_INTRODUCTION_FILTER: Filter = {"firm": names("firms"), "state": INTRODUCTION_STATE}
COMPANY_READ_FILTER: Filter = {"firm": names("firms")}
# firm=firms/4, or firm=hub for the hub-wide subscriptions (a partner's List is its firm's whatever it asks)
WEBHOOK_SUBSCRIPTION_FILTER: Filter = {
    "firm": lambda v: 0 if v.strip().lower() == "hub" else names("firms")(v),
    "state": short_value(wpb.WebhookSubscriptionState, "WEBHOOK_SUBSCRIPTION_STATE"),
}
WEBHOOK_DELIVERY_FILTER: Filter = {
    "state": short_value(wpb.WebhookDeliveryState, "WEBHOOK_DELIVERY_STATE"),
    "event_type": lambda v: v.strip(),
}


def max_results(requested: int) -> int:
    if requested < 0:
        raise errors.invalid("max_results", "must not be negative")
    return min(requested or DEFAULT_MATCHES, MAX_MATCHES)
