"""Routes of the dashboard (issue 12)."""

urlpatterns: list = []
