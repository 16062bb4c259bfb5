"""The public group info page (R8.3); its report link (R12.1) is moderation's ``group-report``."""

from django.urls import path

from groups import views_info

urlpatterns = [
    path("g/<group_code:code>/", views_info.group_info, name="group-info"),
]
