from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A platform account. Other users only ever see ``nickname`` (R6.1: frontend voluntary).

    Real-name verification, phone numbers and agreements arrive with the identity issue.
    """

    nickname = models.CharField(_("nickname"), max_length=32)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        return self.nickname or self.username
