"""Routes of inspector access (R13.1): the inspector's pages under /inspection/, and the supervisor's
grants under /compliance/inspections/ (``grant_urlpatterns``)."""

from django.urls import path

from reports import views_grants
from reports import views_inspection as views

urlpatterns = [
    path("", views.home, name="inspection-home"),
    path("<int:grant_id>/", views.grant_overview, name="inspection-grant"),
    path("<int:grant_id>/groups/<group_code:code>/", views.group_detail, name="inspection-group"),
    path("<int:grant_id>/users/<int:pk>/", views.user_detail, name="inspection-user"),
    path("<int:grant_id>/cases/<int:pk>/", views.case_detail, name="inspection-case"),
    path("<int:grant_id>/cases/<int:pk>/evidence/", views.case_export, name="inspection-case-export"),
    path("<int:grant_id>/logs/", views.logs, name="inspection-logs"),
    path("<int:grant_id>/files/<str:token>/", views.attachment, name="inspection-file"),
    path("<int:grant_id>/dashboard/", views.dashboard, name="inspection-dashboard"),
]

grant_urlpatterns = [
    path("inspections/", views_grants.grant_list, name="inspection-grants"),
    path("inspections/new/", views_grants.grant_new, name="inspection-grant-new"),
    path("inspections/<int:pk>/", views_grants.grant_detail, name="inspection-grant-detail"),
    path("inspections/<int:pk>/revoke/", views_grants.grant_revoke, name="inspection-grant-revoke"),
]
