"""Owner and admin pages under /groups/<code>/manage/ (R9.2)."""

urlpatterns: list = []
