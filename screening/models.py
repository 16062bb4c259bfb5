"""The lexicon staff manage, its versions, and the evidence of what screening blocked or held (R10.1)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.reasons import Reason

TERM_MAX_LENGTH = 64


class Action(models.TextChoices):
    """What a hit does, weakest first: ``flag`` lets the text through and marks it for review; ``hold``
    keeps it from everyone but its author until a reviewer decides; ``block`` refuses it."""

    FLAG = "flag", _("flag")
    HOLD = "hold", _("hold for review")
    BLOCK = "block", _("block")


ACTION_STRENGTH = {"allow": 0, Action.FLAG: 1, Action.HOLD: 2, Action.BLOCK: 3}


class LexiconTerm(models.Model):
    term = models.CharField(_("term"), max_length=TERM_MAX_LENGTH)
    normalised = models.CharField(_("normalised form"), max_length=4 * TERM_MAX_LENGTH, unique=True)
    category = models.CharField(_("reason category"), max_length=40, choices=Reason.choices)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices, default=Action.BLOCK)
    enabled = models.BooleanField(_("enabled"), default=True)
    source = models.CharField(_("source"), max_length=80, blank=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("lexicon term")
        verbose_name_plural = _("lexicon terms")
        ordering = ["category", "normalised"]

    def __str__(self) -> str:
        return self.term


class AllowEntry(models.Model):
    """A harmless longer word that contains a term: a hit inside it does not count."""

    phrase = models.CharField(_("phrase"), max_length=TERM_MAX_LENGTH)
    normalised = models.CharField(_("normalised form"), max_length=4 * TERM_MAX_LENGTH, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("allow-list entry")
        verbose_name_plural = _("allow-list entries")
        ordering = ["normalised"]

    def __str__(self) -> str:
        return self.phrase


class LexiconVersion(models.Model):
    """Every change to the lexicon makes a new version; each process rebuilds its matcher when the
    version it holds is no longer the newest."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(_("what changed"), max_length=300)
    terms = models.PositiveIntegerField(_("enabled terms"), default=0)

    class Meta:
        verbose_name = _("lexicon version")
        verbose_name_plural = _("lexicon versions")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"v{self.pk}"


class ScreeningEvidence(models.Model):
    """Frozen at the moment of screening: the original text, what it normalised to, the hits, where it
    was written and by whom. Never edited; kept for its retention period (evidence snapshots)."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    original_text = models.TextField(_("original text"))
    normalised_text = models.TextField(_("normalised text"))
    hits = models.JSONField(_("hits"), default=list)
    context = models.JSONField(_("context"), default=dict)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    port = models.PositiveIntegerField(_("source port"), null=True, blank=True)
    lexicon_version = models.PositiveIntegerField(_("lexicon version"), null=True)

    class Meta:
        verbose_name = _("screening evidence")
        verbose_name_plural = _("screening evidence")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk}"
