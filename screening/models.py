"""The lexicon staff manage, its versions, and the evidence of what screening blocked or held (R10.1)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
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
    # A screened file (``screen_file``): its SHA-256, so every stop of the same file can be found. The name
    # is ``original_text``; size, format, hashes and the virus scan are under ``context["file"]``, and each
    # hit on the list of prohibited images names the entry and the distance.
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("screening evidence")
        verbose_name_plural = _("screening evidence")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["file_sha256"], condition=~Q(file_sha256=""), name="screening_evidence_file_sha256"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk}"


IMAGE_ACTIONS = (Action.HOLD, Action.BLOCK)


class ProhibitedImage(models.Model):
    """A known prohibited image, kept only as its perceptual hashes (R10.1): the picture itself is never
    stored. ``phash`` finds candidates (Hamming distance in PostgreSQL, ``SCREENING_IMAGE_DISTANCE``),
    ``dhash`` confirms them (``SCREENING_IMAGE_DHASH_DISTANCE``). Both are signed 64-bit integers."""

    phash = models.BigIntegerField(_("perceptual hash (pHash)"))
    dhash = models.BigIntegerField(_("difference hash (dHash)"))
    sha256 = models.CharField(_("SHA-256 of the uploaded file"), max_length=64)
    category = models.CharField(_("reason category"), max_length=40, choices=Reason.choices)
    action = models.CharField(
        _("action"),
        max_length=8,
        choices=[(action.value, action.label) for action in IMAGE_ACTIONS],
        default=Action.BLOCK,
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    active = models.BooleanField(_("enabled"), default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("added by"),
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("prohibited image")
        verbose_name_plural = _("prohibited images")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["phash", "dhash"], name="screening_prohibited_image_hashes")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.phash & 0xFFFF_FFFF_FFFF_FFFF:016x}"
