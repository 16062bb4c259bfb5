from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "credit"

    def ready(self):
        from identity.services import identity_verified

        identity_verified.connect(_award_verification, dispatch_uid="credit.identity_verified")


def _award_verification(sender, user, actor, **kwargs):
    """R7.3: real-name verification earns credit (in the verifying transaction)."""
    from credit.services import credit_identity_verified

    credit_identity_verified(actor=actor, user=user)
