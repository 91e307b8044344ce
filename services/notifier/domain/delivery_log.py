"""The employer's delivery log as it travels on Kafka (DeliveryUpdated): no e-mail address in
clear. Pure."""

MAILTO = "mailto:"
EMAIL_CHANNEL = "email"


def masked_destination(channel: str, destination: str) -> str:
    """A webhook's URL as it is (the employer's own, and what it needs to tell its endpoints
    apart); an e-mail address as its first character and its domain: `mailto:h***@example.cn`."""
    if channel != EMAIL_CHANNEL:
        return destination
    local, _, domain = destination.removeprefix(MAILTO).partition("@")
    return f"{MAILTO}{local[:1]}***@{domain}"
