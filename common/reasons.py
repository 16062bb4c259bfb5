"""Reason categories for moderation, with stable codes (shared design, DOMAIN.md).

From the Provisions on the Ecological Governance of Network Information Content (2019) art. 6 (illegal:
remove, keep records, report) and art. 7 (harmful: limit and warn), plus prohibited conduct and the
2022 account-information rules. Screening, complaints, sanctions and reports all speak these codes.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReasonKind(models.TextChoices):
    ILLEGAL = "illegal", _("illegal")
    HARMFUL = "harmful", _("harmful")
    CONDUCT = "conduct", _("prohibited conduct")
    ACCOUNT = "account", _("account information")


class Reason(models.TextChoices):
    ILL_CONSTITUTION = "ILL_CONSTITUTION", _("Opposing the basic principles of the Constitution")
    ILL_NATSEC = "ILL_NATSEC", _("Endangering national security or unity, leaking state secrets")
    ILL_STATE_HONOR = "ILL_STATE_HONOR", _("Harming the honour and interests of the state")
    ILL_HEROES = "ILL_HEROES", _("Distorting or defaming heroes and martyrs")
    ILL_TERROR = "ILL_TERROR", _("Promoting terrorism or extremism")
    ILL_ETHNIC = "ILL_ETHNIC", _("Inciting ethnic hatred or discrimination")
    ILL_RELIGION = "ILL_RELIGION", _("Undermining religious policy, promoting cults or superstition")
    ILL_RUMOR = "ILL_RUMOR", _("Spreading rumours that disturb economic or social order")
    ILL_OBSCENE_GAMBLING_VIOLENCE = (
        "ILL_OBSCENE_GAMBLING_VIOLENCE",
        _("Obscenity, pornography, gambling, violence, murder, terror or abetting crime"),
    )
    ILL_DEFAMATION_PRIVACY = (
        "ILL_DEFAMATION_PRIVACY",
        _("Insulting or defaming others, infringing their reputation or privacy"),
    )
    ILL_OTHER = "ILL_OTHER", _("Other content prohibited by laws and regulations")
    HARM_CLICKBAIT = "HARM_CLICKBAIT", _("Exaggerated headlines that misrepresent the content")
    HARM_GOSSIP = "HARM_GOSSIP", _("Hyping gossip, scandals or misdeeds")
    HARM_DISASTER = "HARM_DISASTER", _("Improper comment on natural disasters or major accidents")
    HARM_SEXUAL = "HARM_SEXUAL", _("Sexual innuendo or provocation")
    HARM_GORE = "HARM_GORE", _("Gory, horrifying or cruel content")
    HARM_DISCRIMINATION = "HARM_DISCRIMINATION", _("Inciting discrimination against groups or regions")
    HARM_VULGAR = "HARM_VULGAR", _("Vulgar or kitsch content")
    HARM_MINORS = "HARM_MINORS", _("Leading minors into bad behaviour")
    HARM_OTHER = "HARM_OTHER", _("Other content harmful to the online ecosystem")
    CONDUCT_CYBERVIOLENCE = "CONDUCT_CYBERVIOLENCE", _("Cyber-violence")
    CONDUCT_DOXXING = "CONDUCT_DOXXING", _("Doxxing")
    CONDUCT_DEEPFAKE = "CONDUCT_DEEPFAKE", _("Deep fakes")
    CONDUCT_FRAUD_SPAM = "CONDUCT_FRAUD_SPAM", _("Fraud, spam advertising, fake traffic")
    ACCT_IMPERSONATION = "ACCT_IMPERSONATION", _("Impersonating another person or organisation")
    ACCT_CONTACT_EMBED = "ACCT_CONTACT_EMBED", _("Embedded QR codes, links or contact details")


def reason_kind(code: str) -> ReasonKind:
    """The kind follows from the code's prefix: illegal content is removed, recorded and reported."""
    prefix = code.split("_", 1)[0]
    return {
        "ILL": ReasonKind.ILLEGAL,
        "HARM": ReasonKind.HARMFUL,
        "CONDUCT": ReasonKind.CONDUCT,
        "ACCT": ReasonKind.ACCOUNT,
    }[prefix]
