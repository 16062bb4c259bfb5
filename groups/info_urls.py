"""The public group info page (R8.3) and its report link."""

urlpatterns: list = []
