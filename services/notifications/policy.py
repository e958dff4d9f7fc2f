"""The notifications API's policy, declared once: the input rules of each request (hubcore.requests.Rules,
enforced by the server's interceptor before a method runs), the filters each List accepts, and who may call
what. What a field's value may be beyond its shape (a known language, time zone or rule) is the domain's
to say (domain.check_preference), so it is not repeated here."""

from __future__ import annotations

from collections.abc import Callable

from hub.notifications.v1 import notifications_pb2 as pb

from hubcore.requests import Rules, length, max_items, parse_name, required, short_value, url
from hubcore.server import ADMIN, also_for_services
from hubcore.text import email_address
from services.notifications import domain

PREFERENCE_MUTABLE = frozenset(
    {"channels", "language", "time_zone", "quiet_start", "quiet_end", "muted_rules", "webhook_url"}
)
RULES: dict[type, Rules] = {
    pb.ListFollowUpsRequest: Rules({"filter": [length(0, 500)]}),
    pb.GetFollowUpRequest: Rules({"name": [required]}),
    pb.CancelFollowUpRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    pb.ListDeliveriesRequest: Rules({"filter": [length(0, 500)]}),
    pb.GetDeliveryRequest: Rules({"name": [required]}),
    pb.RetryDeliveryRequest: Rules({"name": [required]}),
    pb.CancelDeliveryRequest: Rules({"name": [required]}),
    pb.RetryRecipientDeliveriesRequest: Rules({"name": [required]}),
    pb.ListRecipientsRequest: Rules({"filter": [length(0, 500)]}),
    pb.ListMessageTemplatesRequest: Rules({"language": [length(0, 5)]}),
    pb.GetRecipientRequest: Rules({"name": [required]}),
    pb.GetPreferenceRequest: Rules({"name": [required]}),
    pb.UpdatePreferenceRequest: Rules(
        {
            "preference.name": [required],
            "preference.muted_rules": [max_items(50)],
            "preference.webhook_url": [url],
            "preference.channels": [max_items(len(domain.CHANNELS))],
        },
        "update_mask",
        "preference",
        PREFERENCE_MUTABLE,
    ),
}
# Program managers do everything; other services may read.
ROLES = also_for_services(
    "ListFollowUps", "GetFollowUp", "ListDeliveries", "GetDelivery", "ListStuckFollowUps", "GetNotificationStats",
    "ListRecipients", "GetRecipient", "GetPreference",
)  # fmt: skip
DEFAULT_ROLES = frozenset({ADMIN})


def _company(value: str) -> str:
    return f"companies/{parse_name(value, 'companies', 'filter')}"


Filter = dict[str, Callable[[str], object]]
FOLLOW_UP_FILTER: Filter = {
    "state": short_value(pb.FollowUpState, "FOLLOW_UP_STATE"),
    "rule": str,
    "entity": str,
    "company": _company,
}
DELIVERY_FILTER: Filter = {
    "state": short_value(pb.DeliveryState, "DELIVERY_STATE"),
    "rule": str,
    "entity": str,
    "channel": short_value(pb.Channel, "CHANNEL"),
    "company": _company,
    "recipient": lambda v: parse_name(v, "recipients", "filter"),
    "follow_up": lambda v: parse_name(v, "followUps", "filter"),
}
RECIPIENT_FILTER: Filter = {
    "source": str,
    "kind": short_value(pb.RecipientKind, "RECIPIENT_KIND"),
    "email": email_address,
    "company": _company,
}
