"""The public group info page (R8.3) and its report link."""

from django.urls import path

from groups import views_info

urlpatterns = [
    path("g/<group_code:code>/", views_info.group_info, name="group-info"),
    path("g/<group_code:code>/report/", views_info.group_report, name="group-report"),
]
