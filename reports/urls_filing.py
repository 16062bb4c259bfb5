"""Routes of the filing (issue 12)."""

urlpatterns: list = []
