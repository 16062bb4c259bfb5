"""Report routes (R12.1). Every named route here has rows in the authorization table (tests/architecture)."""

from django.urls import path

from moderation import api, views

urlpatterns = [
    # The report entry of every message, member and group, and of public group info pages (R8.3).
    path("g/<group_code:code>/report/", views.report, name="group-report"),
    path("reports/mine/", views.my_reports, name="my-reports"),
    # Under the group's management pages (R9.2): the owner's and admins' view of conduct cases.
    path("groups/<group_code:code>/manage/reports/", views.manage_reports, name="group-manage-reports"),
]

compliance_urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
]

api_urlpatterns = [
    path("complaints/", api.ComplaintCreateApi.as_view(), name="api-complaints"),
]
