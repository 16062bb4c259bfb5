"""Routes of the register (issue 12)."""

urlpatterns: list = []
